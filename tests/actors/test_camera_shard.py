"""A shard on real Ray: a camera that cannot start is reported with its reason and leaves nothing running."""

from __future__ import annotations

import pytest
import ray

from matakota.actors.camera_shard import CameraShard
from matakota.config import ShardConfig
from matakota.core.messages import CameraState

pytestmark = pytest.mark.timeout(120)
NORM_ZONE = {"name": "z", "units": "norm", "polygon": [[0, 0], [1, 0], [1, 1]]}


def test_a_camera_that_cannot_start_is_an_error_and_the_others_run(ray_cluster):
    shard = CameraShard.remote("shard-unit", ShardConfig().model_dump(mode="json"), True)
    try:
        broken = {"id": "broken", "url": "/clips/x.mp4", "analytics": {"zones": [NORM_ZONE]}}  # no frame size
        fine = {"id": "fine", "url": "synthetic://64x36?fps=2&detect=0"}
        threads = ray.get(shard.reader_threads.remote())
        assert ray.get(shard.add_cameras.remote([broken, fine])) == ["fine"]
        rows = {c.id: c for c in ray.get(shard.heartbeat.remote()).cameras}
        assert rows["broken"].state is CameraState.ERROR and "frame size" in rows["broken"].reason
        assert rows["fine"].state is CameraState.ONLINE
        assert ray.get(shard.reader_threads.remote()) == threads  # the broken camera's reader never started
        assert ray.get(shard.remove_cameras.remote(["broken", "fine"])) == ["fine"]
        assert ray.get(shard.heartbeat.remote()).cameras == ()
    finally:
        ray.kill(shard)
