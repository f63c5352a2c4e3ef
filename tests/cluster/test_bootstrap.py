"""bootstrap.start_sink on the real (session) Ray: a detached EventSink that outlived the config it was started with
counts by the current counting plans and time zone after the next start, and keeps them when it restarts."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

import pytest

from matakota.analytics.counts import CountRecord
from matakota.config import parse_config
from matakota.core.calendar import zone
from matakota.store import open_store

pytestmark = pytest.mark.timeout(180)
T0 = datetime(2026, 11, 5, 10, tzinfo=zone("Asia/Jakarta")).timestamp()
CAMERA = {"id": "gate-cam", "site": "tugu", "url": "rtsp://h/s",
          "analytics": {"lines": [{"name": "gate", "start": [0, 0], "end": [9, 9]}],
                        "zones": [{"name": "square", "polygon": [[0, 0], [9, 0], [9, 9]]}]}}


def config(tmp_path, entrance: str, timezone: str):
    return parse_config({"fleet": {"cameras": [CAMERA]}, "store": {"url": str(tmp_path / "sink.db")},
                         "reports": {"timezone": timezone, "sites": {"tugu": {"entrances": [entrance]}}}})


def tugu_visits(tmp_path) -> int:
    with open_store(tmp_path / "sink.db") as store:
        [row] = store.visits(start=T0, end=T0 + 3600, bucket="day", sites=["tugu"])
        return row.visits


def stats_after_restart(sink, old_pid: int, timeout_s: float = 120.0) -> dict:
    import ray
    from ray.exceptions import RayActorError

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            stats = ray.get(sink.stats.remote(), timeout=30)
            if stats["pid"] != old_pid:
                return stats
        except RayActorError:
            pass
        time.sleep(0.5)
    raise AssertionError("the EventSink did not restart")


def test_a_running_sink_takes_the_new_plan_and_time_zone_and_keeps_them(ray_cluster, tmp_path):
    import ray

    from matakota.cluster import bootstrap

    name = f"event-sink-bootstrap-{uuid.uuid4().hex[:8]}"
    sink = bootstrap.start_sink(config(tmp_path, "gate-cam/square", "Asia/Jakarta"), name)
    try:
        counts = [CountRecord("gate-cam", "tugu", "zone", "square", T0, T0 + 60, 60, 2, 1.0, 3, part="r"),
                  CountRecord("gate-cam", "tugu", "line", "gate", T0, T0 + 60, 60, in_count=5, part="r")]
        ray.get(sink.write.remote("batch-1", [], [c.to_json() for c in counts]))
        assert tugu_visits(tmp_path) == 3  # the square is the entrance: its visits
        first = ray.get(sink.stats.remote())

        # the config changed, the detached sink kept running: the next start hands it the new plan and zone
        again = bootstrap.start_sink(config(tmp_path, "gate-cam/gate", "UTC"), name)
        assert ray.get(again.stats.remote())["pid"] == first["pid"]  # the same sink, not a new one
        assert tugu_visits(tmp_path) == 5  # the gate's in-crossings now
        assert ray.get(again.stats.remote())["timezone"] == "UTC"

        ray.kill(again, no_restart=False)  # Ray restarts it with the arguments it was created with …
        restarted = stats_after_restart(again, first["pid"])
        assert restarted["timezone"] == "UTC" and tugu_visits(tmp_path) == 5  # … yet it keeps the pushed config
    finally:
        ray.kill(sink, no_restart=True)
