"""One counting interval in which a camera is restarted, reconfigured and failed over: the parts of it that
survive land side by side and the store adds them up (before, only the first part was kept: the later parts had
the same id and were dropped). Only what a crashed shard held in memory is lost."""

from __future__ import annotations

import math
import time

import httpx
import pytest
import ray

from matakota.cluster import bootstrap
from matakota.config import parse_config
from matakota.core.messages import CameraState
from matakota.core.names import NAMESPACE
from matakota.store import open_store
from tests.conftest import ADMIN
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(240)
FPS, INTERVAL_S = 4.0, 20.0
CAMERA = {"id": "counted", "site": "kota-lama", "url": f"synthetic://64x36?fps={FPS:g}&detect=0", "analytics": {
    "fps": FPS, "count_interval_s": INTERVAL_S,
    "zones": [{"name": "all", "polygon": [[0, 0], [64, 0], [64, 36], [0, 36]]}]}}


@pytest.fixture
def supervisor(api_url, store_config):
    config = parse_config({"store": store_config, "fleet": {"allow_files": True, "cameras": [CAMERA]}})
    handle = bootstrap.start_fleet(config, reset=True)
    ray.get(handle.scale_shards.remote(2))  # somewhere to fail over to at once
    assert wait_for(lambda: ray.get(handle.camera.remote("counted")).state is CameraState.ONLINE, 60)
    yield handle
    bootstrap.stop_fleet()


def test_an_interval_with_a_restart_a_reconfiguration_and_a_failover_keeps_every_part(api_url, supervisor,
                                                                                     store_config):
    url = f"{api_url}/v1/cameras/counted"
    time.sleep(INTERVAL_S - time.time() % INTERVAL_S + 1.0)  # one second into a fresh interval
    start = math.floor(time.time() / INTERVAL_S) * INTERVAL_S
    restarted = httpx.patch(url, json={"rtsp_transport": "udp"}, headers=ADMIN, timeout=60)  # analytics go on
    assert restarted.status_code == 200, restarted.text
    time.sleep(3)
    changed = httpx.patch(url, json={"analytics": {"visit_grace_s": 5}}, headers=ADMIN, timeout=60)  # fresh ones
    assert changed.status_code == 200, changed.text
    time.sleep(3)
    shard = ray.get(supervisor.assignment.remote())["counted"]
    ray.kill(ray.get_actor(shard, namespace=NAMESPACE), no_restart=True)  # failover: fresh analytics elsewhere

    time.sleep(max(0.0, start + INTERVAL_S + 1 - time.time()))
    with open_store(store_config["url"]) as store:
        def parts():  # each run's part closed and stored (checkpoints of the interval in progress come earlier)
            rows = store._read("SELECT id, samples FROM counts WHERE camera = ? AND start_ts = ?", ("counted", start))
            return rows if len(rows) >= 2 and sum(n for _, n in rows) >= 0.6 * FPS * INTERVAL_S else None
        rows = wait_for(parts, 30)
        assert rows, ("not every run's part of the interval reached the store",
                      store._read("SELECT id, samples FROM counts WHERE camera = ? AND start_ts = ?", ("counted", start)))
        [minute] = store.counts(start=start, end=start + INTERVAL_S, bucket="1m", cameras=["counted"])
    expected = FPS * INTERVAL_S
    # the run before the reconfiguration (the restart kept it going) and the one after the failover; the run in
    # between died with its shard, and with it the ~3 s it had counted but not yet closed
    assert len(rows) == 2
    assert minute.samples == sum(samples for _, samples in rows)
    assert 0.6 * expected <= minute.samples <= expected + FPS, (rows, expected)
