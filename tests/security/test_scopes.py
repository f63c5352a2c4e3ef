"""Tokens limited to owners and sites, against the real service: a running fleet with cameras of three owners at two
sites, events and counts stored through the real EventSink, and tokens added to the tokens file while the API runs
(re-read without a restart). Every endpoint × token kind: a limited token sees only its cameras, and a camera,
event or site outside its reach answers exactly as one that does not exist (404), never 403."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid

import httpx
import pytest
import ray

from matakota.analytics.counts import CountRecord
from matakota.cluster import bootstrap
from matakota.config import parse_config
from matakota.core.events import Event, EventState, EventType
from matakota.core.names import EVENT_SINK_NAME, NAMESPACE
from matakota.core.settings import settings
from tests.conftest import ADMIN, READ
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(240)
T0 = (time.time() // 3600 - 1) * 3600  # an hour ago (older data may be pruned by the store's retention)
CAMERAS = {"city-1": ("kota-lama", "city"), "hotel-1": ("kota-lama", "hotel-santika"),
           "dishub-1": ("simpang-lima", "dishub")}
HOTEL_TOKEN, DISTRICT_TOKEN = "hotel-" + uuid.uuid4().hex, "district-" + uuid.uuid4().hex
ENFORCEMENT_TOKEN = "enforcement-" + uuid.uuid4().hex
ENFORCEMENT = {"Authorization": f"Bearer {ENFORCEMENT_TOKEN}"}  # sees unblurred evidence
HOTEL = {"Authorization": f"Bearer {HOTEL_TOKEN}"}  # reads the hotel's cameras only
DISTRICT = {"Authorization": f"Bearer {DISTRICT_TOKEN}"}  # administers the cameras of site kota-lama
REACH = {"read": set(CAMERAS), "admin": set(CAMERAS), "hotel": {"hotel-1"}, "district": {"city-1", "hotel-1"}}
HEADERS = {"read": READ, "admin": ADMIN, "hotel": HOTEL, "district": DISTRICT}


def event(camera: str) -> dict:
    """An intrusion with its evidence as a shard sends it: people blurred, and the unblurred original."""
    site = CAMERAS[camera][0]
    return {**Event(EventType.INTRUSION, camera, site, "room", EventState.RAISED, T0 + 60, box=(10, 10, 50, 90),
                    payload={"people": 1}).to_json(),
            "snapshot_jpeg": b"\xff\xd8blurred", "crop_jpeg": b"\xff\xd8blurred-crop",
            "snapshot_original_jpeg": b"\xff\xd8original", "crop_original_jpeg": b"\xff\xd8original-crop"}


@pytest.fixture(scope="module")
def service(api_url, people_clip, store_config):
    tokens_file = settings().tokens_file
    before = tokens_file.read_text()
    tokens_file.write_text(before + f"read {HOTEL_TOKEN} name=hotel owners=hotel-santika\n"
                                    f"admin {DISTRICT_TOKEN} name=district sites=kota-lama\n"
                                    f"enforcement {ENFORCEMENT_TOKEN} name=dishub-enforcement\n")
    config = parse_config({"store": store_config, "fleet": {"allow_files": True, "cameras": [
        {"id": camera, "site": site, "owner": owner, "url": str(people_clip), "decode": {"mode": "keyframes"},
         "analytics": {"fps": 0.5}} for camera, (site, owner) in CAMERAS.items()]}})
    bootstrap.start_fleet(config, reset=True)
    sink = ray.get_actor(EVENT_SINK_NAME, namespace=NAMESPACE)
    counts = [CountRecord(camera, site, "zone", "plaza", T0, T0 + 60, 60, 3, 1.5, 4, part="p")
              for camera, (site, _) in CAMERAS.items()]
    ack = ray.get(sink.write.remote(uuid.uuid4().hex, [event(c) for c in CAMERAS], [c.to_json() for c in counts]))
    assert (ack["events"], ack["counts"]) == (3, 3), ack
    assert wait_for(lambda: httpx.get(f"{api_url}/v1/cameras", headers=HOTEL, timeout=30).status_code == 200, 10), \
        "the API did not take the new tokens without a restart"
    yield {camera: event(camera)["id"] for camera in CAMERAS}
    bootstrap.stop_fleet()
    tokens_file.write_text(before)


def get(api_url, path, who, **params):
    return httpx.get(api_url + path, headers=HEADERS[who], params=params, timeout=30)


@pytest.mark.parametrize("who", list(HEADERS))
def test_camera_lists_and_cameras_show_only_what_the_token_reaches(api_url, service, who):
    listed = {r["id"] for r in get(api_url, "/v1/cameras", who).json()}
    assert listed == REACH[who]
    assert {r["owner"] for r in get(api_url, "/v1/cameras", who, owner="hotel-santika").json()} <= {"hotel-santika"}
    for camera in CAMERAS:
        for path in (f"/v1/cameras/{camera}", f"/v1/cameras/{camera}/detections/latest"):
            answer = get(api_url, path, who)
            if camera in REACH[who]:
                assert answer.status_code in (200, 404) and "no camera" not in answer.text, (path, answer.text)
            else:  # exactly what a camera that does not exist gets
                assert (answer.status_code, answer.json()) == (404, {"detail": f"no camera {camera!r}"}), path


@pytest.mark.parametrize("who", list(HEADERS))
def test_events_counts_levels_and_snapshots_only_within_reach(api_url, service, who):
    listed = {e["camera"] for e in get(api_url, "/v1/events", who, since=T0, until=T0 + 3600).json()["items"]}
    assert listed == REACH[who]
    for camera, event_id in service.items():
        reached = camera in REACH[who]
        answers = {
            "event": (get(api_url, f"/v1/events/{event_id}", who), f"unknown event {event_id!r}"),
            "snapshot": (get(api_url, f"/v1/events/{event_id}/snapshot", who), f"unknown event {event_id!r}"),
            "events": (get(api_url, "/v1/events", who, camera=camera), f"unknown camera {camera!r}"),
            "counts": (get(api_url, "/v1/counts", who, camera=camera, **{"from": T0, "to": T0 + 3600}),
                       f"unknown camera {camera!r}"),
            "levels": (get(api_url, "/v1/levels", who, camera=camera, **{"from": T0, "to": T0 + 3600}),
                       f"unknown camera {camera!r}"),
        }
        if not reached:  # what a camera shows, and what operators do about its alarms: as if it did not exist
            answers |= {
                "frame": (get(api_url, f"/v1/cameras/{camera}/frame.jpg", who), f"no camera {camera!r}"),
                "live": (get(api_url, f"/v1/cameras/{camera}/live.mjpg", who), f"no camera {camera!r}")}
            if who == "district":  # an admin, so an operator: the scope is not what refuses it
                answers |= {
                    "clip": (get(api_url, f"/v1/events/{event_id}/clip.mp4", who), f"unknown event {event_id!r}"),
                    "acknowledge": (httpx.post(f"{api_url}/v1/events/{event_id}/acknowledge", headers=DISTRICT,
                                               json={}, timeout=30), f"unknown event {event_id!r}")}
        for name, (answer, unknown) in answers.items():
            if reached:
                assert answer.status_code == 200, (name, camera, answer.text)
            else:
                assert (answer.status_code, answer.json()) == (404, {"detail": unknown}), (name, camera)
    for site in ("kota-lama", "simpang-lima"):
        answer = get(api_url, "/v1/counts", who, site=site, **{"from": T0, "to": T0 + 3600})
        mine = {c for c in REACH[who] if CAMERAS[c][0] == site}
        if mine:
            assert {r["camera"] for r in answer.json()["items"]} == mine
        else:
            assert (answer.status_code, answer.json()) == (404, {"detail": f"unknown site {site!r}"})


@pytest.mark.parametrize("who", list(HEADERS))
def test_the_fleet_view_is_for_tokens_that_reach_everything(api_url, service, who):
    answer = get(api_url, "/v1/fleet", who)
    assert answer.status_code == (403 if who in ("hotel", "district") else 200), answer.text


def test_the_live_stream_carries_only_the_token_s_cameras(api_url, service):
    sink = ray.get_actor(EVENT_SINK_NAME, namespace=NAMESPACE)
    stop = threading.Event()

    def publish():  # every second, an event of each camera (the stream only sends what comes after it opened)
        while not stop.is_set():
            now = time.time()
            fresh = [Event(EventType.CROWDING, camera, CAMERAS[camera][0], "plaza", EventState.RAISED, now,
                           payload={"n": 1}).to_json() for camera in CAMERAS]
            ray.get(sink.write.remote(uuid.uuid4().hex, fresh, []))
            stop.wait(1.0)

    seen = []
    with httpx.stream("GET", f"{api_url}/v1/events/stream", headers=HOTEL, params={"max_events": 3},
                      timeout=30) as stream:
        publisher = threading.Thread(target=publish, daemon=True)
        publisher.start()
        try:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:])["camera"])
        finally:
            stop.set()
            publisher.join()
    assert seen == ["hotel-1"] * 3


def test_unblurred_evidence_only_for_enforcement_tokens(api_url, service):
    event_id = service["dishub-1"]
    path = f"{api_url}/v1/events/{event_id}/snapshot"
    assert httpx.get(path, headers=READ, timeout=30).content == b"\xff\xd8blurred"
    refused = httpx.get(path, headers=READ, params={"original": "true"}, timeout=30)
    assert refused.status_code == 403 and "'enforcement'" in refused.json()["detail"]
    assert httpx.get(path, headers=ADMIN, params={"original": "true"}, timeout=30).status_code == 403
    for crop, expected in ((False, b"\xff\xd8original"), (True, b"\xff\xd8original-crop")):
        got = httpx.get(path, headers=ENFORCEMENT, params={"original": "true", "crop": crop}, timeout=30)
        assert got.content == expected


def test_a_site_admin_changes_only_its_site_s_cameras(api_url, service, people_clip):
    call = lambda method, path, **kw: httpx.request(method, api_url + path, headers=DISTRICT, timeout=60, **kw)  # noqa: E731
    assert call("PATCH", "/v1/cameras/hotel-1", json={"analytics": {"fps": 1.0}}).status_code == 200
    assert call("PATCH", "/v1/cameras/dishub-1", json={"analytics": {"fps": 1.0}}).json() == {
        "detail": "no camera 'dishub-1'"}
    moved = call("PATCH", "/v1/cameras/city-1", json={"site": "simpang-lima"})
    assert moved.status_code == 403 and "its owners/sites" in moved.json()["detail"]
    elsewhere = {"id": "new-1", "site": "simpang-lima", "url": str(people_clip)}
    assert call("POST", "/v1/cameras", json=elsewhere).status_code == 403
    assert call("POST", "/v1/cameras", json={**elsewhere, "site": "kota-lama"}).status_code == 201
    assert call("DELETE", "/v1/cameras/dishub-1").status_code == 404
    assert call("DELETE", "/v1/cameras/new-1").status_code == 204
    assert httpx.get(f"{api_url}/v1/cameras/dishub-1", headers=ADMIN, timeout=30).status_code == 200  # untouched
    hotel_patch = httpx.patch(f"{api_url}/v1/cameras/hotel-1", headers=HOTEL, json={}, timeout=30)
    assert hotel_patch.status_code == 403  # reaches it, may only read it


def test_privileged_calls_are_in_the_audit_log_by_token_name_and_the_chain_verifies(api_url, service, store_config):
    assert httpx.get(f"{api_url}/v1/audit", headers=READ, timeout=30).status_code == 403
    entries = httpx.get(f"{api_url}/v1/audit", headers=ADMIN, params={"limit": 1000}, timeout=30).json()["items"]
    done = {(e["actor"], e["action"], e["target"]) for e in entries}
    assert {("district", "PATCH /v1/cameras/{camera_id}", "hotel-1"), ("district", "POST /v1/cameras", ""),
            ("district", "DELETE /v1/cameras/{camera_id}", "new-1"),
            ("dishub-enforcement", "evidence.download", service["dishub-1"])} <= done
    assert not any(token in repr(entries) for token in (DISTRICT_TOKEN, ENFORCEMENT_TOKEN))
    assert all(e["remote"] == "127.0.0.1" for e in entries if e["actor"] == "district")
    verified = subprocess.run([sys.executable, "-m", "matakota.cluster.cli", "audit", "verify", "--store",
                               store_config["url"]], capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0 and "audit log intact" in verified.stdout, verified.stderr
