"""Parking cases through the real EventSink (session Ray): a started violation's package is stored beside its event
and fanned out without its files, a retried batch stores it once, its `ended` event gives the case its end, and a broken
package is dropped (counted) while its event stands."""

from __future__ import annotations

import uuid

import pytest

from matakota.config import StoreConfig
from matakota.core.events import Event, EventState, EventType
from matakota.store import open_store

T0 = 1_796_094_000.0
pytestmark = pytest.mark.timeout(120)


def violation(state: EventState, end: float | None = None) -> dict:
    return Event(EventType.PARKING_VIOLATION, "cam-1", "simpang-lima", "bahu-jalan@260,330", state, T0, end,
                 {"zone": "bahu-jalan", "plate": "H 1234 AB", "class": "car"}, (200, 250, 320, 330)).to_json()


def with_case(record: dict, **override) -> dict:
    case = {"event_id": record["id"], "incident_id": record["incident_id"], "camera": "cam-1", "site": "simpang-lima",
            "zone": "bahu-jalan", "plate": "H 1234 AB", "plate_confidence": 0.9, "class": "car", "start": T0,
            "limit_t": T0 + 300, "files": {"limit.jpg": b"\xff\xd8", "manifest.json": b"{}"}, **override}
    return {**record, "case": case}


@pytest.fixture
def sink(ray_cluster, tmp_path):
    import ray

    from matakota.actors.event_sink import start_event_sink

    config = StoreConfig(url=str(tmp_path / "sink.db"), retention_days=None, case_retention_days=90)
    actor = start_event_sink(config, name=f"event-sink-cases-{uuid.uuid4().hex[:8]}")
    yield actor, config
    ray.kill(actor, no_restart=True)


def test_a_case_is_stored_once_beside_its_event_and_ended_by_it(sink):
    import ray

    actor, config = sink
    started = with_case(violation(EventState.STARTED))
    ray.get(actor.write.remote("b1", [started], []))
    ray.get(actor.write.remote("b1", [started], []))  # a resend
    ray.get(actor.write.remote("b2", [with_case(violation(EventState.STARTED))], []))  # a retry under a new batch id
    ray.get(actor.write.remote("b3", [violation(EventState.ENDED, T0 + 900)], []))
    with open_store(config.url) as store:
        case = store.case(started["id"])
        assert case["plate"] == "H 1234 AB" and case["duration_s"] == 900.0
        assert store.case_files(started["id"]) == {"limit.jpg": b"\xff\xd8", "manifest.json": b"{}"}
        assert "case" not in store.get_event(started["id"])
    live = ray.get(actor.recent.remote(10))
    assert live and all("case" not in event for event in live)  # fan-out carries no files


def test_a_broken_package_is_dropped_and_its_event_kept(sink):
    import ray

    actor, config = sink
    started = with_case(violation(EventState.STARTED), plate_confidence="high")
    ack = ray.get(actor.write.remote("b1", [started], []))
    assert ack["events"] == 1 and ack["rejected"] == 1
    with open_store(config.url) as store:
        assert store.get_event(started["id"]) is not None and store.case(started["id"]) is None
