"""The fleet end to end on real Ray: RTSP simulator → CameraShards → the real Detector → /v1/cameras."""

from __future__ import annotations

import time

import httpx
import pytest
import ray

from matakota.cluster import bootstrap
from matakota.config import parse_config
from matakota.core.messages import CameraState
from matakota.core.names import NAMESPACE
from tests.conftest import CREDENTIALS_DIR, READ
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(300)
PASSWORD = "s3cret-pw"


def cameras(api_url) -> dict[str, dict]:
    response = httpx.get(f"{api_url}/v1/cameras", headers=READ, timeout=30)
    assert response.status_code == 200
    assert PASSWORD not in response.text
    return {row["id"]: row for row in response.json()}


def cameras_when(api_url, condition) -> dict | None:
    rows = cameras(api_url)
    return rows if condition(rows) else None


@pytest.fixture(scope="module")
def sim(rtsp_sim, people_clip, cars_clip):
    mounts = {"people-0": people_clip, "people-1": people_clip, "cars-0": cars_clip}
    with rtsp_sim.RtspSimulator(mounts, user="admin", password=PASSWORD) as simulator:
        yield simulator


def secret_reference(url: str) -> str:
    """The URL with its credentials moved into the secrets folder, referenced as ${sim-admin}."""
    (CREDENTIALS_DIR / "sim-admin").write_text(f"admin:{PASSWORD}\n")
    (CREDENTIALS_DIR / "sim-admin.hosts").write_text("127.0.0.1\n")  # where they may be sent: the simulator
    return url.replace(f"admin:{PASSWORD}@", "${sim-admin}@")


@pytest.fixture(scope="module")
def fleet(api_url, sim, store_config):
    people = {"fps": 2.0, "count_interval_s": 5,
              "zones": [{"name": "room", "kind": "restricted", "polygon": [[0, 0], [768, 0], [768, 432], [0, 432]]}],
              "rules": [{"type": "intrusion", "zone": "room", "hours": "00:00-24:00", "clear_s": 2}]}
    config = parse_config({"store": store_config, "fleet": {"shards": {"cameras_per_shard": 2}, "cameras": [
        {"id": "people-0", "site": "simpang-lima", "url": sim.url("people-0"), "analytics": people},
        {"id": "people-1", "site": "simpang-lima", "url": secret_reference(sim.url("people-1")), "analytics": people,
         "decode": {"mode": "keyframes"}},
        {"id": "cars-0", "site": "kota-lama", "url": sim.url("cars-0"), "analytics": {"fps": 1.0}},
        {"id": "wrong-password", "site": "kota-lama", "url": sim.url("cars-0", password="nope")},
        {"id": "unreachable", "site": "kota-lama", "url": "rtsp://admin:" + PASSWORD + "@127.0.0.1:9/x"},
    ]}})
    supervisor = bootstrap.start_fleet(config, reset=True)
    yield supervisor
    bootstrap.stop_fleet()


def test_cameras_come_online_and_people_are_detected(api_url, fleet):
    online = wait_for(lambda: all(cameras(api_url)[c]["state"] == "online" for c in ("people-0", "people-1", "cars-0")), 60)
    assert online, cameras(api_url)
    rows = cameras(api_url)
    shards = {row["shard"] for row in rows.values()}
    assert len(shards) >= 3 and all(name.startswith("shard-") for name in shards)  # 2 cameras per shard at most
    assert rows["people-0"]["url"].startswith("rtsp://admin:***@127.0.0.1")

    def saw_person():
        latest = httpx.get(f"{api_url}/v1/cameras/people-0/detections/latest", headers=READ, timeout=30)
        return latest.status_code == 200 and any(d["label"] == "person" for d in latest.json()["detections"])

    assert wait_for(saw_person, 60), "no person detected on the people clip"
    assert wait_for(lambda: cameras(api_url)["people-0"]["frames_analysed"] > 5, 30)
    row = cameras(api_url)["people-0"]
    assert 1.0 <= row["fps_analysed"] <= 2.6 and row["latency_p50_s"] is not None


def test_bad_cameras_say_why_without_the_password(api_url, fleet):
    rows = wait_for(lambda: cameras_when(api_url, lambda r: r["wrong-password"]["reason"] and r["unreachable"]["reason"]), 60)
    assert rows, cameras(api_url)
    assert rows["wrong-password"]["state"] in ("error", "offline")
    assert "auth" in rows["wrong-password"]["reason"].lower() or "401" in rows["wrong-password"]["reason"]
    assert rows["unreachable"]["state"] == "offline"
    for row in rows.values():
        assert PASSWORD not in str(row)


def test_unknown_camera_is_404(api_url, fleet):
    response = httpx.get(f"{api_url}/v1/cameras/nope/detections/latest", headers=READ, timeout=30)
    assert response.status_code == 404 and "no camera 'nope'" in response.json()["detail"]


def test_a_mount_outage_takes_one_camera_offline_and_back_while_others_keep_flowing(api_url, fleet, sim):
    assert wait_for(lambda: cameras(api_url)["cars-0"]["state"] == "online", 60)
    before = cameras(api_url)
    sim.stop_mount("cars-0")
    try:
        down = wait_for(lambda: cameras(api_url)["cars-0"]["state"] != "online", 40)
        assert down, cameras(api_url)["cars-0"]
        assert cameras(api_url)["cars-0"]["reason"]
    finally:
        sim.start_mount("cars-0")
    assert wait_for(lambda: cameras(api_url)["cars-0"]["state"] == "online", 60), cameras(api_url)["cars-0"]
    after = cameras(api_url)
    assert after["cars-0"]["reconnects"] > before["cars-0"]["reconnects"]
    for camera in ("people-0", "people-1"):
        assert after[camera]["frames_decoded"] > before[camera]["frames_decoded"]


def test_keyframe_mode_decodes_only_keyframes(api_url, fleet):
    rows = wait_for(lambda: cameras_when(api_url, lambda r: r["people-1"]["frames_decoded"] > 5), 60)
    # the clip has a keyframe every 10 frames at 10 fps: keyframe mode decodes ~1 frame/s, full decode ~10
    assert rows["people-1"]["fps_in"] <= 2.0 < rows["people-0"]["fps_in"]


def test_adding_and_removing_a_camera_at_run_time_leaves_no_reader_behind(api_url, fleet, sim):
    shard = ray.get_actor(cameras(api_url)["people-0"]["shard"], namespace=NAMESPACE)
    threads_before = ray.get(shard.reader_threads.remote())
    others_before = {c: r["frames_decoded"] for c, r in cameras(api_url).items()}
    camera = {"id": "extra", "url": sim.url("people-0"), "analytics": {"fps": 1.0}}
    assert ray.get(shard.add_cameras.remote([camera])) == ["extra"]
    assert ray.get(shard.reader_threads.remote()) == threads_before + 1
    assert wait_for(lambda: any(c.id == "extra" and c.state is CameraState.ONLINE
                                for c in ray.get(shard.heartbeat.remote()).cameras), 30)
    assert ray.get(shard.remove_cameras.remote(["extra"])) == ["extra"]
    assert ray.get(shard.reader_threads.remote()) == threads_before
    after = cameras(api_url)
    assert all(after[c]["frames_decoded"] >= n for c, n in others_before.items())


def test_counts_and_events_reach_the_store_and_the_api_with_evidence(api_url, fleet):
    def intrusions():
        page = httpx.get(f"{api_url}/v1/events", params={"type": "intrusion", "camera": "people-0"},
                         headers=READ, timeout=30).json()
        return [e for e in page["items"] if e["state"] == "raised"]

    raised = wait_for(intrusions, 90)
    assert raised, "no intrusion event stored for a person walking into the restricted room"
    event = raised[0]
    assert event["site"] == "simpang-lima" and event["key"] == "room"
    snapshot = httpx.get(f"{api_url}{event['snapshot_url']}", headers=READ, timeout=30)
    assert snapshot.status_code == 200 and snapshot.content.startswith(b"\xff\xd8")
    assert httpx.get(f"{api_url}{event['snapshot_url']}", timeout=30).status_code == 401  # faces need a token

    def counted():
        now = time.time()
        body = httpx.get(f"{api_url}/v1/counts", params={"camera": "people-0", "from": now - 3600, "to": now + 60,
                                                          "bucket": "1m"}, headers=READ, timeout=30).json()
        return body["items"]

    assert wait_for(counted, 60), "no count rows for people-0"


def test_live_events_arrive_over_server_sent_events(api_url, fleet):
    from tests.conftest import READ_TOKEN

    with httpx.stream("GET", f"{api_url}/v1/events/stream",
                      params={"after": 0, "max_events": 1, "access_token": READ_TOKEN}, timeout=90) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        data = [line for line in response.iter_lines() if line.startswith("data:")]
    assert data and '"camera"' in data[0]
