"""A camera moves between two real shards mid-incident (real video, the real Detector): make-before-break with
the analytics handed over, so the visit in progress and its warning are neither lost nor doubled."""

from __future__ import annotations

import pytest
import ray
import yaml

from matakota.actors.camera_shard import CameraShard
from matakota.config import ShardConfig
from matakota.core.messages import CameraState
from matakota.core.names import NAMESPACE
from tests.analytics.test_real_clip import EXAMPLE_CAMERA
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def shards(api_url):
    made = [CameraShard.options(name=f"handover-{side}", namespace=NAMESPACE, max_concurrency=64)
            .remote(f"handover-{side}", ShardConfig().model_dump(mode="json"), True) for side in "ab"]
    yield made
    for shard in made:
        ray.get(shard.stop.remote())
        ray.kill(shard)


def events(shard) -> list[tuple[str, str]]:
    return [(e["type"], e["state"]) for e in ray.get(shard.recent_events.remote())]


def test_a_move_mid_incident_keeps_the_visit_and_the_warning(shards, people_clip):
    source, target = shards
    analytics = yaml.safe_load(EXAMPLE_CAMERA.read_text())
    analytics["rules"] = [{"type": "crowding", "zone": "table", "max_occupancy": 0, "for_s": 1, "clear_s": 3}]
    camera = {"id": "moving", "site": "kota-lama", "url": str(people_clip), "analytics": analytics}
    ray.get(source.add_cameras.remote([camera]))
    # the first person stands at the table from 7 s to 19 s of the clip: someone is there, warned about
    assert wait_for(lambda: ("crowding", "raised") in events(source), 60)
    visits = ray.get(source.analytics_summary.remote("moving"))["zones"]["table"]["visits"]
    assert visits == 1

    ray.get(target.add_cameras.remote([camera], standby=True))
    assert wait_for(lambda: any(c.state is CameraState.ONLINE for c in ray.get(target.heartbeat.remote()).cameras),
                    30)
    assert ray.get(target.analytics_summary.remote("moving")) is None  # standby: decoding, analysing nothing
    handed = ray.get(source.release_cameras.remote(["moving"]))
    assert ray.get(target.adopt_cameras.remote(handed)) == ["moving"]

    assert wait_for(lambda: ("crowding", "cleared") in events(target), 60)  # she leaves at 19 s
    assert ("crowding", "raised") not in events(target)  # the warning went on, it was not raised again
    assert events(source).count(("crowding", "raised")) == 1 and ("crowding", "cleared") not in events(source)
    summary = ray.get(target.analytics_summary.remote("moving"))
    assert summary["zones"]["table"]["visits"] == 1  # the same visit, not a second one
    assert [s["track"] for s in summary["zones"]["table"]["stays"]] == [1]
    assert ray.get(source.heartbeat.remote()).cameras == ()
