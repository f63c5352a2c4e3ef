"""Alarm handling against the real service: an alarm stored and streamed by the real EventSink, acknowledged and
resolved by a token with the `operator` scope (who, when and the comment stored, audited, pushed over SSE, in
`/v1/events` with `acknowledged=false|true`), and the operator page in real Chromium: a new alarm sounds, shows its
snapshot and clip, and an acknowledgement made on one console appears on another without a reload."""

from __future__ import annotations

import json
import threading
import time
import uuid

import av
import cv2
import httpx
import pytest
import ray
from selenium.webdriver.common.by import By

from matakota.cluster import bootstrap
from matakota.config import parse_config
from matakota.core.events import Event, EventState, EventType
from matakota.core.names import EVENT_SINK_NAME, NAMESPACE
from matakota.core.settings import settings
from matakota.video.clips import PacketRing
from tests.conftest import ADMIN, READ, READ_TOKEN
from tests.serve.browser import chromium, needs_chromium, screenshot
from tests.serve.browser import wait_for as browser_wait

pytestmark = pytest.mark.timeout(240)
OPERATOR_TOKEN = "operator-" + uuid.uuid4().hex
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
CAMERA, SITE = "hall-1", "kota-lama"


@pytest.fixture(scope="module")
def service(api_url, store_config):
    tokens_file = settings().tokens_file
    before = tokens_file.read_text()
    tokens_file.write_text(before + f"operator {OPERATOR_TOKEN} name=ops-1\n")
    config = parse_config({"store": store_config, "fleet": {"allow_files": True, "cameras": [
        {"id": CAMERA, "site": SITE, "url": "synthetic://64x36?fps=1&detect=0"}]}})
    bootstrap.start_fleet(config, reset=True)
    deadline = time.monotonic() + 10
    while httpx.get(f"{api_url}/v1/events", headers=OPERATOR, timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "the API did not take the operator token"
        time.sleep(0.2)
    yield ray.get_actor(EVENT_SINK_NAME, namespace=NAMESPACE)
    bootstrap.stop_fleet()
    tokens_file.write_text(before)


def raise_alarm(sink, **evidence) -> dict:
    event = Event(EventType.INTRUSION, CAMERA, SITE, "room", EventState.RAISED, time.time(), box=(10, 10, 50, 30),
                  payload={"count": 1}).to_json()
    ray.get(sink.write.remote(uuid.uuid4().hex, [{**event, **evidence}], []))
    return event


def test_an_operator_acknowledges_and_resolves_an_alarm_once_each(api_url, service):
    event = raise_alarm(service)
    act = lambda verb, who, **body: httpx.post(f"{api_url}/v1/events/{event['id']}/{verb}", headers=who,  # noqa: E731
                                               json=body, timeout=30)
    assert act("acknowledge", READ).status_code == 403
    assert act("acknowledge", OPERATOR, comment="x" * 501).status_code == 422
    acked = act("acknowledge", OPERATOR, comment="petugas dikirim")
    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledged"]["by"] == "ops-1" and acked.json()["acknowledged"]["comment"] == "petugas dikirim"
    again = act("acknowledge", ADMIN)  # admin includes operator
    assert again.status_code == 409 and "'ops-1'" in again.json()["detail"]
    listed = lambda **q: {e["id"] for e in httpx.get(f"{api_url}/v1/events", headers=READ, timeout=30,  # noqa: E731
                                                      params={"camera": CAMERA, **q}).json()["items"]}
    assert event["id"] in listed(acknowledged="true") and event["id"] not in listed(acknowledged="false")
    assert act("resolve", OPERATOR, comment="selesai").json()["resolved"]["comment"] == "selesai"
    stored = httpx.get(f"{api_url}/v1/events/{event['id']}", headers=READ, timeout=30).json()
    assert stored["acknowledged"]["by"] == stored["resolved"]["by"] == "ops-1"
    audit = httpx.get(f"{api_url}/v1/audit", headers=ADMIN, params={"actor": "ops-1"}, timeout=30).json()["items"]
    assert {e["action"] for e in audit} >= {"alarm.acknowledged", "alarm.resolved"}
    assert act("acknowledge", OPERATOR).status_code == 409
    assert httpx.post(f"{api_url}/v1/events/nope/acknowledge", headers=OPERATOR, json={}, timeout=30).status_code == 404


def test_an_acknowledgement_is_pushed_to_every_open_stream(api_url, service):
    event = raise_alarm(service)
    notes = []

    def listen():
        with httpx.stream("GET", f"{api_url}/v1/events/stream", headers=READ, params={"camera": CAMERA},
                          timeout=30) as stream:
            kind = None
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "handled":
                    notes.append(json.loads(line[6:]))
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(1.0)  # the stream is open (it only carries what comes after)
    httpx.post(f"{api_url}/v1/events/{event['id']}/acknowledge", headers=OPERATOR, json={"comment": "on it"},
               timeout=30).raise_for_status()
    listener.join(20)
    assert notes and notes[0]["incident_id"] == event["incident_id"] and notes[0]["by"] == "ops-1"
    assert notes[0]["action"] == "acknowledged" and notes[0]["comment"] == "on it"


def evidence(people_clip) -> dict:
    """A real snapshot and a real clip (the first seconds of the people clip, remuxed as the shards do)."""
    ring = PacketRing(keep_s=30)
    with av.open(str(people_clip)) as container:
        stream = container.streams.video[0]
        ring.start_session(stream)
        ring.request("clip", 0.0, 3.0)
        for i, packet in enumerate(p for p in container.demux(stream) if p.size):
            ring.add(packet, i / 10)
            if i > 40:
                break
        ring.end_session()
        frame = next(container.decode(video=0)).to_ndarray(format="bgr24")
    [(_, clip)] = ring.take_done()
    return {"snapshot_jpeg": cv2.imencode(".jpg", frame)[1].tobytes(), "clip_mp4": clip}


SOUND_PROBE = ("window.__tones = 0; const make = AudioContext.prototype.createOscillator;"
               "AudioContext.prototype.createOscillator = function () { window.__tones++; return make.call(this); };")


@needs_chromium
def test_two_consoles_an_alarm_sounds_shows_its_evidence_and_an_acknowledgement_reaches_the_other(
        api_url, service, people_clip, tmp_path):
    consoles = []
    try:
        for n, token in enumerate((OPERATOR_TOKEN, READ_TOKEN)):
            driver = chromium(tmp_path / f"profile-{n}", 1400, 1000)
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": SOUND_PROBE})
            driver.get(f"{api_url}/ui#token={token}")
            browser_wait(driver, lambda d: d.find_element(By.ID, "live").text.lower() == "live", 30, "the live stream")
            consoles.append(driver)
        event = raise_alarm(service, **evidence(people_clip))
        card_of = f'.alarm[data-incident="{event["incident_id"]}"]'
        for driver in consoles:
            browser_wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, card_of), 20, "the alarm card")
            assert browser_wait(driver, lambda d: d.execute_script("return window.__tones") >= 2, 10, "the sound")
            assert browser_wait(driver, lambda d: d.execute_script(
                f"return document.querySelector('{card_of} img').naturalWidth") == 768, 20, "the snapshot")
        operator, reader = consoles
        operator.find_element(By.CSS_SELECTOR, f"{card_of} .clip-button").click()
        assert browser_wait(operator, lambda d: d.execute_script(
            f"const v = document.querySelector('{card_of} video'); return v && v.readyState >= 1 && v.duration"),
            20, "the clip to load") >= 2.5
        screenshot(operator, "alarm-with-clip")
        reader.find_element(By.CSS_SELECTOR, f"{card_of} .comment").send_keys("try")
        reader.find_element(By.CSS_SELECTOR, f"{card_of} .ack").click()  # a read token may not
        browser_wait(reader, lambda d: "operator scope" in d.find_element(By.CSS_SELECTOR, f"{card_of} .handle-message").text,
                     10, "the refusal")
        operator.find_element(By.CSS_SELECTOR, f"{card_of} .comment").send_keys("patroli menuju lokasi")
        operator.find_element(By.CSS_SELECTOR, f"{card_of} .ack").click()
        for driver in consoles:  # the reader's console learns it over the stream, without a reload
            said = browser_wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, f"{card_of} .handled-by").text, 20,
                                "the acknowledgement")
            assert said.startswith("acknowledged by ops-1") and "patroli menuju lokasi" in said
        screenshot(operator, "alarm-acknowledged")
        assert reader.find_element(By.ID, "live").text.lower() == "live"  # the refusal did not stop the console
    finally:
        for driver in consoles:
            driver.quit()
