"""Webhooks to a loopback receiver: signed bodies, retries on 5xx, dead letters, routing by type, plates only to a
target that asked for them over HTTPS."""

from __future__ import annotations

import json

import pytest

from matakota.config import WebhookConfig
from matakota.core.events import Event, EventState, EventType
from matakota.outputs import Webhooks
from matakota.outputs.webhooks import sign, verify
from tests.network import free_port
from tests.waiting import wait_for
from tests.webhook_receiver import self_signed

FAST = {"backoff_base_s": 0.01, "backoff_cap_s": 0.05, "timeout_s": 2.0}


PLATE = {"plate": "H 1234 AB", "plate_confidence": 0.91, "plate_votes": 3, "plate_reads": 4,
         "evidence": "/v1/events/x/evidence.zip"}


def event(type=EventType.PARKING_VIOLATION, i=0, payload=None):
    return Event(type, "cam-1", "kota-lama", "no-parking", EventState.STARTED, 1_767_225_600.0 + i,
                 payload=payload or {}).to_json()


@pytest.fixture
def hooks():
    made = []

    def make(configs, environ):
        made.append(Webhooks(configs, environ))
        return made[-1]
    yield make
    for h in made:
        h.close()


@pytest.mark.timeout(30)
def test_body_is_signed_with_the_secret_from_the_environment(receiver, hooks):
    target = receiver()
    webhooks = hooks([WebhookConfig(url=target.url, secret_env="HOOK_SECRET", **FAST)], {"HOOK_SECRET": "s3cret"})
    webhooks.submit(event())
    assert wait_for(lambda: webhooks.stats()[0]["delivered"] == 1)
    headers, body = target.requests[0]
    assert json.loads(body) == event()
    assert headers["X-Matakota-Signature"] == sign(b"s3cret", body)
    assert verify(b"s3cret", body, headers["X-Matakota-Signature"])
    assert not verify(b"other", body, headers["X-Matakota-Signature"])
    assert headers["X-Matakota-Delivery"] == event()["id"]


@pytest.mark.timeout(30)
def test_retries_on_500_then_succeeds(receiver, hooks):
    target = receiver(statuses=[500, 503])
    webhooks = hooks([WebhookConfig(url=target.url, **FAST)], {})
    webhooks.submit(event())
    assert wait_for(lambda: webhooks.stats()[0]["delivered"] == 1)
    assert len(target.requests) == 3 and target.requests[0][1] == target.requests[2][1]
    assert {k: webhooks.stats()[0][k] for k in ("retried", "dead_lettered")} == {"retried": 2, "dead_lettered": 0}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("statuses, attempts", [([500] * 10, 3), ([400], 1)])
def test_dead_letter_after_max_attempts_or_a_refusal(receiver, hooks, statuses, attempts):
    target = receiver(statuses=statuses)
    webhooks = hooks([WebhookConfig(url=target.url, max_attempts=3, **FAST)], {})
    webhooks.submit(event())
    assert wait_for(lambda: webhooks.stats()[0]["dead_lettered"] == 1)
    assert len(target.requests) == attempts
    assert webhooks.targets[0].dead_letters[0]["id"] == event()["id"]


@pytest.mark.timeout(30)
def test_a_dead_target_never_blocks_and_overflow_is_counted(hooks):
    webhooks = hooks([WebhookConfig(url=f"http://127.0.0.1:{free_port()}/x", queue_size=2, max_attempts=2,
                                    **FAST)], {})
    for i in range(50):
        webhooks.submit(event(i=i))  # returns at once although nothing listens
    assert wait_for(lambda: webhooks.stats()[0]["dead_lettered"] + webhooks.stats()[0]["dropped"] == 50)
    stats = webhooks.stats()[0]
    assert stats["dropped"] >= 45 and stats["delivered"] == 0 and stats["queued"] == 0


@pytest.mark.timeout(30)
def test_targets_get_only_their_event_types(receiver, hooks):
    flood, everything = receiver(), receiver()
    webhooks = hooks([WebhookConfig(url=flood.url, event_types=["flood_level"], **FAST),
                      WebhookConfig(url=everything.url, **FAST)], {})
    webhooks.submit(event(EventType.FLOOD_LEVEL))
    webhooks.submit(event(EventType.INTRUSION))
    assert wait_for(lambda: len(everything.requests) == 2)
    assert wait_for(lambda: webhooks.stats()[0]["delivered"] == 1)
    assert [json.loads(b)["type"] for _, b in flood.requests] == ["flood_level"]


def test_missing_secret_is_a_start_up_error():
    with pytest.raises(ValueError, match="NOT_SET_ANYWHERE"):
        Webhooks([WebhookConfig(url="http://127.0.0.1:9/x", secret_env="NOT_SET_ANYWHERE")], {})


@pytest.mark.timeout(30)
def test_plates_reach_only_the_https_target_that_asked_for_them(receiver, hooks, tmp_path, monkeypatch):
    certificate, key = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # how a deployment trusts the agency's own CA
    public, agency = receiver(), receiver(tls=(certificate, key))
    webhooks = hooks([WebhookConfig(url=public.url, **FAST), WebhookConfig(url=agency.url, plates=True, secret_env="DISHUB", **FAST)],
                     {"DISHUB": "agency-secret"})
    webhooks.submit(event(payload={"zone": "bahu-jalan", "class": "car", **PLATE}))
    assert wait_for(lambda: len(public.requests) == 1 and len(agency.requests) == 1)
    assert json.loads(public.requests[0][1])["payload"] == {"zone": "bahu-jalan", "class": "car"}
    assert json.loads(agency.requests[0][1])["payload"] == {"zone": "bahu-jalan", "class": "car", **PLATE}
