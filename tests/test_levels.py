"""Water levels as data, end to end: a gauge camera's readings go shard → outbox → EventSink → store (none lost
while the sink is down, none doubled, a bad one refused), and come back from `GET /v1/levels` with the alarm
levels of the fleet's config; `matakota analyze --json` lists a recording's readings."""

from __future__ import annotations

import contextlib
import io
import json
import time

import httpx
import pytest
import ray
import yaml

from matakota.actors.event_sink import start_event_sink
from matakota.actors.outbox import Outbox
from matakota.cluster import bootstrap
from matakota.cluster.analyze import format_report
from matakota.cluster.cli import main
from matakota.config import parse_config
from matakota.core.messages import CameraState
from matakota.core.names import EVENT_SINK_NAME, NAMESPACE
from matakota.store import open_store
from tests.analytics.synthetic_scenes import render_gauge_video
from tests.conftest import READ
from tests.waiting import wait_for

LEVELS = {"siaga": 100.0, "awas": 140.0}
GAUGE = {"region": [440, 40, 560, 440], "calibration": [[40, 200], [440, 0]], "levels": LEVELS, "every_s": 1}
CAMERA = {"id": "gauge-levels", "site": "banjir-kanal-timur", "url": "synthetic://640x480?fps=2&detect=0",
          "analytics": {"fps": 2.0, "gauge": GAUGE}}
KEYS = {"t", "status", "row", "level_cm", "confidence"}


def test_the_outbox_carries_readings_in_its_batches_until_they_are_acked():
    outbox = Outbox(max_items=10, max_batch=4, sender="shard-1")
    readings = [{"camera": "g", "site": "s", "t": float(t), "status": "ok", "level_cm": 50.0, "confidence": 0.9}
                for t in range(12)]
    outbox.put(events=[{"id": "e1"}], levels=readings[:5])
    first = outbox.next_batch()
    assert (first.events, first.levels, len(first)) == ([{"id": "e1"}], readings[:3], 4)
    assert outbox.next_batch() == first  # not acknowledged: the same batch is sent again
    assert outbox.ack(first.id) and outbox.next_batch().levels == readings[3:5]
    outbox.put(levels=readings[5:])  # 2 sealed + 7 waiting: 9 of the 10 it keeps
    assert outbox.pending == 9 and outbox.dropped == {}
    outbox.put(levels=[{**readings[0], "t": 99.0}] * 3)
    assert outbox.pending == 10 and outbox.dropped == {"level": 2}  # the sealed batch of two was shed whole


@pytest.mark.timeout(300)
def test_readings_reach_the_store_through_a_sink_outage_and_come_back_from_the_api(api_url, store_config):
    config = parse_config({"store": store_config, "fleet": {"allow_files": True, "cameras": [CAMERA]}})
    camera = CAMERA["id"]
    started = time.time()
    supervisor = bootstrap.start_fleet(config, reset=True)
    try:
        assert wait_for(lambda: ray.get(supervisor.camera.remote(camera)).state is CameraState.ONLINE, 60)
        with open_store(store_config["url"]) as store:
            def stored(after: float = started) -> list:
                return store.levels(camera=camera, start=after, end=time.time() + 60, bucket="raw").readings

            assert wait_for(lambda: len(stored()) >= 3, 30), "no readings reached the store"

            # The sink goes away for a while: the readings of that time wait in the shard's outbox.
            bootstrap.kill_and_wait(EVENT_SINK_NAME)
            down = time.time()
            time.sleep(4)
            up = time.time()
            sink = start_event_sink(config.store, config.outputs, lifetime="detached")
            assert wait_for(lambda: any(r.t > up + 1 for r in stored()), 60), "readings stopped after the outage"
            readings = stored()
            during = [r for r in readings if down < r.t < up]
            assert len(during) >= 2, [r.t for r in readings]  # taken while the sink was down, delivered after
            times = [r.t for r in readings]
            assert times == sorted(set(times))  # one row per reading: nothing doubled by the resends
            assert max(b - a for a, b in zip(times, times[1:])) < 3.5  # every_s is 1: nothing lost either
            assert all(r.status and 0 <= r.confidence <= 1 for r in readings)

            # A resent batch and a malformed reading: stored once, the bad one refused and counted.
            good = {"camera": camera, "site": CAMERA["site"], "t": 1_767_225_600.0, "status": "ok", "row": 240.0,
                    "level_cm": 100.0, "confidence": 0.9}
            bad = {**good, "t": 1_767_225_601.0, "confidence": 7.0}
            ack = ray.get(sink.write.remote("levels-test-1", [], [], [good, bad]))
            assert (ack["levels"], ack["rejected"]) == (1, 1)
            assert ray.get(sink.write.remote("levels-test-2", [], [], [good]))["levels"] == 0
            assert len(store.levels(camera=camera, start=good["t"], end=good["t"] + 10).readings) == 1

        # The API: the stored readings, and the alarm levels from the fleet's config of the camera.
        params = {"camera": camera, "from": int(started), "to": int(time.time()) + 60}
        body = httpx.get(f"{api_url}/v1/levels", params=params, headers=READ, timeout=30).json()
        assert (body["camera"], body["site"], body["bucket"], body["alarm_levels"]) == (
            camera, CAMERA["site"], None, LEVELS)
        assert len(body["readings"]) >= len(readings) and set(body["readings"][0]) == {
            "t", "level_cm", "confidence", "status"}
        assert httpx.get(f"{api_url}/v1/levels", params=params, timeout=30).status_code == 401
        missing = httpx.get(f"{api_url}/v1/levels", params={**params, "camera": "no-such-gauge"}, headers=READ,
                            timeout=30)
        assert missing.status_code == 404 and "unknown camera" in missing.json()["detail"]
        rows = httpx.get(f"{api_url}/v1/cameras", headers=READ, timeout=30).json()
        assert [row["gauge"] for row in rows if row["id"] == camera] == [True]  # the page charts it
    finally:
        bootstrap.stop_fleet()
        with contextlib.suppress(ValueError):  # a sink restarted by the test and left behind
            ray.kill(ray.get_actor(EVENT_SINK_NAME, namespace=NAMESPACE), no_restart=True)


@pytest.mark.timeout(180)
def test_analyze_json_lists_the_gauge_readings(tmp_path):
    video = tmp_path / "gauge.mp4"
    region, calibration = render_gauge_video(video, [45.0] * 8, fps=2, keyframe_every=2)  # 4 s, the river at 45 cm
    camera = tmp_path / "gauge.yaml"
    camera.write_text(yaml.safe_dump({"fps": 2.0, "frame_size": [640, 480], "gauge": {
        "region": list(region), "calibration": [list(pair) for pair in calibration], "levels": {"siaga": 60.0},
        "every_s": 0.5}}))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["analyze", str(video), "--camera", str(camera), "--json"]) == 0
    result = json.loads(out.getvalue())
    levels = result["levels"]
    assert result["frames"] >= len(levels) >= 4 and all(KEYS <= set(r) for r in levels)
    assert levels[0]["t"] == 0.0 and [r["t"] for r in levels] == sorted({r["t"] for r in levels})
    assert any(r["status"] == "ok" and abs(r["level_cm"] - 45.0) <= 8 for r in levels), levels
    assert f"gauge: {len(levels)} readings" in format_report(result)
