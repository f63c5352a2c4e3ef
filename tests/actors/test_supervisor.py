"""FleetSupervisor on real Ray with real shards: failover, restart, run-time changes, rebalancing."""

from __future__ import annotations

import time

import httpx
import pytest
import ray

from matakota.cluster import bootstrap
from matakota.config import parse_config
from matakota.core.errors import CameraError
from matakota.core.messages import CameraState, CameraStatus
from matakota.core.names import NAMESPACE, SHARD_PREFIX, SUPERVISOR_NAME
from tests.conftest import ADMIN, CREDENTIALS_DIR, READ
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(300)
CAMERAS = [f"cam-{i}" for i in range(6)]


@pytest.fixture(scope="module")
def supervisor(api_url, people_clip, store_config):
    config = parse_config({"store": store_config, "fleet": {
        "allow_files": True,
        "shards": {"cameras_per_shard": 2, "rebalance_period_s": 3600},
        "cameras": [{"id": c, "site": "kota-lama", "url": str(people_clip), "decode": {"mode": "keyframes"},
                     "analytics": {"fps": 1.0}} for c in CAMERAS],
    }})
    handle = bootstrap.start_fleet(config, reset=True)
    assert wait_for(lambda: all(r.state is CameraState.ONLINE for r in ray.get(handle.cameras.remote())), 60)
    yield handle
    bootstrap.stop_fleet()


def rows(supervisor) -> dict[str, CameraStatus]:
    return {r.id: r for r in ray.get(supervisor.cameras.remote())}


def test_a_killed_shard_s_cameras_are_online_elsewhere_within_15_s(supervisor):
    assignment = ray.get(supervisor.assignment.remote())
    victim = assignment[CAMERAS[0]]
    orphans = {c for c, s in assignment.items() if s == victim}
    others = {c for c in assignment if c not in orphans}
    before = {c: r.frames_decoded for c, r in rows(supervisor).items()}
    ray.kill(ray.get_actor(victim, namespace=NAMESPACE), no_restart=True)
    killed_at = time.monotonic()

    def rehomed():
        now = rows(supervisor)
        # the other cameras never stop while the supervisor re-homes
        assert all(now[c].frames_decoded >= before[c] for c in others)
        return all(now[c].state is CameraState.ONLINE and now[c].shard != victim for c in orphans)

    assert wait_for(rehomed, 15, interval=0.25), rows(supervisor)
    assert time.monotonic() - killed_at < 15
    after = rows(supervisor)
    assert all(after[c].frames_decoded > before[c] for c in others)
    failover = wait_for(lambda: [f for f in ray.get(supervisor.fleet_view.remote()).failovers
                                 if f.shard == victim and f.duration_s is not None], 15)
    assert failover and failover[0].cameras == len(orphans) and failover[0].duration_s < 15


def test_a_restarted_supervisor_keeps_the_assignment_and_moves_nothing(supervisor):
    before = ray.get(supervisor.assignment.remote())
    view = ray.get(supervisor.fleet_view.remote())
    shards_before = {s.name for s in view.shards}
    ray.kill(ray.get_actor(SUPERVISOR_NAME, namespace=NAMESPACE), no_restart=False)  # Ray restarts it

    def new_incarnation_started():
        restarted = _try(lambda: ray.get(supervisor.start.remote(), timeout=30))
        return restarted if restarted and restarted.supervisor_started > view.supervisor_started else None

    restarted = wait_for(new_incarnation_started, 60)
    assert restarted
    assert ray.get(supervisor.assignment.remote()) == before
    assert {s.name for s in restarted.shards} == shards_before
    assert wait_for(lambda: all(r.state is CameraState.ONLINE for r in rows(supervisor).values()), 30)


def shard_cameras() -> dict[str, list[str]]:
    """camera → the shards that run it, asked of every shard actor alive (not of the supervisor)."""
    running: dict[str, list[str]] = {}
    for name in [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                 if a["namespace"] == NAMESPACE and a["name"].startswith(SHARD_PREFIX)]:
        beat = _try(lambda: ray.get(ray.get_actor(name, namespace=NAMESPACE).heartbeat.remote(), timeout=10))
        for camera in beat.cameras if beat else ():
            running.setdefault(camera.id, []).append(name)
    return running


def test_a_change_the_moment_the_supervisor_restarts_never_runs_a_camera_twice(supervisor, people_clip):
    """Ray restarts the supervisor (`__init__` again) and the API's next change arrives at once: it waits for the
    running shards to be adopted, so no camera is placed a second time and no shard name is reused; nobody calls
    `start()` and the restarted supervisor still runs its loop (a shard killed afterwards is failed over)."""
    view = ray.get(supervisor.fleet_view.remote())
    shards_before = {s.name for s in view.shards}
    late = {"id": "cam-late", "site": "kota-lama", "url": str(people_clip), "decode": {"mode": "keyframes"},
            "analytics": {"fps": 1.0}}
    ray.kill(ray.get_actor(SUPERVISOR_NAME, namespace=NAMESPACE), no_restart=False)

    def add_late():  # a retry after an add that went through but timed out answers 409: added all the same
        try:
            return ray.get(supervisor.add_camera.remote(late), timeout=30)
        except ray.exceptions.RayTaskError as error:
            if isinstance(error.cause, CameraError) and error.cause.status == 409:
                return True
            raise

    assert wait_for(lambda: _try(add_late), 60)
    everyone = [*CAMERAS, "cam-late"]

    def each_camera_once_and_online():
        running = shard_cameras()
        doubled = {c: s for c, s in running.items() if len(s) > 1}
        assert doubled == {}, doubled
        return sorted(running) == sorted(everyone) and all(
            r.state is CameraState.ONLINE for r in rows(supervisor).values())

    assert wait_for(each_camera_once_and_online, 30), (shard_cameras(), {c: (r.state, r.reason) for c, r in rows(supervisor).items()})
    assert shards_before <= {s.name for s in ray.get(supervisor.fleet_view.remote()).shards}
    assert ray.get(supervisor.fleet_view.remote()).supervisor_started > view.supervisor_started
    victim = ray.get(supervisor.assignment.remote())["cam-late"]
    ray.kill(ray.get_actor(victim, namespace=NAMESPACE), no_restart=True)
    assert wait_for(lambda: rows(supervisor)["cam-late"].shard not in (None, victim)
                    and rows(supervisor)["cam-late"].state is CameraState.ONLINE, 20), rows(supervisor)
    ray.get(supervisor.remove_camera.remote("cam-late"))
    assert wait_for(lambda: "cam-late" not in shard_cameras(), 30)


def _try(call):
    try:
        return call()
    except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError, ray.exceptions.GetTimeoutError):
        return None


def test_a_rebalance_after_adding_a_shard_moves_only_what_it_must(supervisor):
    before = ray.get(supervisor.assignment.remote())
    shards = ray.get(supervisor.scale_shards.remote(len(set(before.values())) + 1))
    new_shard = (set(shards) - set(before.values())).pop()
    moves = ray.get(supervisor.rebalance_now.remote())
    after = ray.get(supervisor.assignment.remote())
    moved = {c for c in before if after[c] != before[c]}
    assert moved == {m.camera for m in moves}  # nothing moved that the round did not decide to move
    assert new_shard in after.values()  # the new shard took cameras
    assert 1 <= len(moved) <= len(CAMERAS) // len(shards) + 1
    assert ray.get(supervisor.rebalance_now.remote()) == []  # balanced now: nothing thrashes
    assert wait_for(lambda: all(r.state is CameraState.ONLINE for r in rows(supervisor).values()), 30)


def test_a_district_is_added_in_one_call_all_or_none(supervisor):
    district = [{"id": f"candi-{i}", "site": "candi", "url": "synthetic://64x36?fps=2&detect=0",
                 "analytics": {"fps": 1.0}} for i in range(5)]
    before = set(rows(supervisor))
    with pytest.raises(CameraError, match=r"cameras\[3\]\.analytics"):
        ray.get(supervisor.add_cameras.remote([*district[:3], {**district[3], "analytics": {"fps": -1}}]))
    (CREDENTIALS_DIR / "candi").write_text("admin:s3cret-candi\n")
    (CREDENTIALS_DIR / "candi.hosts").write_text("10.20.9.0/24\n")
    with pytest.raises(CameraError, match=r"\$\{candi\} may not be sent to 'attacker.example'") as error:
        ray.get(supervisor.add_cameras.remote([{**district[0], "url": "rtsp://${candi}@attacker.example/x"}]))
    assert "s3cret" not in str(error.value)
    norm_zone = {"name": "z", "units": "norm", "polygon": [[0, 0], [1, 0], [1, 1]]}  # valid, but cannot start
    with pytest.raises(CameraError, match="frame size"):  # refused before it is saved, not failing on a shard
        ray.get(supervisor.add_cameras.remote([{**district[0], "analytics": {"zones": [norm_zone]}}]))
    with pytest.raises(CameraError, match="2 camera ids already exist or repeat: 'cam-0', 'candi-1'"):
        ray.get(supervisor.add_cameras.remote([*district, {**district[1]}, {**district[0], "id": "cam-0"}]))
    assert set(rows(supervisor)) == before  # a refused batch adds nothing

    assert ray.get(supervisor.add_cameras.remote(district)) == [c["id"] for c in district]
    assert wait_for(lambda: all(rows(supervisor)[c["id"]].state is CameraState.ONLINE for c in district), 30)
    for camera in district:
        ray.get(supervisor.remove_camera.remote(camera["id"]))
    assert set(rows(supervisor)) == before


def test_cameras_are_added_patched_and_removed_through_the_api(api_url, supervisor, people_clip):
    camera = {"id": "kota-lama-07", "site": "kota-lama", "url": str(people_clip), "analytics": {
        "fps": 1.0, "zones": [{"name": "table", "polygon": [[0, 0], [400, 0], [400, 400]]}],
        "rules": [{"type": "crowding", "zone": "table", "max_occupancy": 9}]}}
    url = f"{api_url}/v1/cameras"
    assert httpx.post(url, json=camera, headers=READ, timeout=30).status_code == 403
    assert httpx.post(url, json=camera, timeout=30).status_code == 401
    created = httpx.post(url, json=camera, headers=ADMIN, timeout=60)
    assert created.status_code == 201, created.text
    assert created.json()["id"] == "kota-lama-07"
    duplicate = httpx.post(url, json=camera, headers=ADMIN, timeout=30)
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["detail"]
    bad = httpx.post(url, json={**camera, "id": "x", "url": "ftp://u:hunter2@h/x"}, headers=ADMIN, timeout=30)
    assert bad.status_code == 422 and "unsupported scheme" in bad.text and "hunter2" not in bad.text
    assert wait_for(lambda: rows(supervisor)["kota-lama-07"].state is CameraState.ONLINE, 30)

    patched = httpx.patch(f"{url}/kota-lama-07", json={"decode": {"mode": "keyframes"}}, headers=ADMIN, timeout=60)
    assert patched.status_code == 200, patched.text
    # a nested change merges (RFC 7396): the zone and the rule stay, and the answer shows the whole config
    fps = httpx.patch(f"{url}/kota-lama-07", json={"analytics": {"fps": 2}}, headers=ADMIN, timeout=60).json()
    assert fps["config"]["analytics"]["fps"] == 2 and fps["config"]["decode"]["mode"] == "keyframes"
    assert [z["name"] for z in fps["config"]["analytics"]["zones"]] == ["table"]
    assert len(fps["config"]["analytics"]["rules"]) == 1
    shown = httpx.get(f"{url}/kota-lama-07", headers=READ, timeout=30).json()
    assert shown["config"] == fps["config"] and shown["id"] == "kota-lama-07"
    dropped = httpx.patch(f"{url}/kota-lama-07", json={"analytics": {"rules": None}}, headers=ADMIN, timeout=60)
    assert dropped.json()["config"]["analytics"]["rules"] == [] and dropped.json()["config"]["analytics"]["zones"]
    assert httpx.get(f"{url}/nope", headers=READ, timeout=30).status_code == 404
    assert wait_for(lambda: rows(supervisor)["kota-lama-07"].state is CameraState.ONLINE
                    and rows(supervisor)["kota-lama-07"].fps_in <= 2.0, 30)
    assert httpx.patch(f"{url}/nope", json={}, headers=ADMIN, timeout=30).status_code == 404
    assert httpx.patch(f"{url}/kota-lama-07", json={"analytics": {"fps": -1}}, headers=ADMIN,
                       timeout=30).status_code == 422

    assert httpx.delete(f"{url}/kota-lama-07", headers=ADMIN, timeout=60).status_code == 204
    assert "kota-lama-07" not in rows(supervisor)
    assert httpx.delete(f"{url}/kota-lama-07", headers=ADMIN, timeout=30).status_code == 404
    fleet = httpx.get(f"{api_url}/v1/fleet", headers=READ, timeout=30).json()
    assert sum(s["cameras"] for s in fleet["shards"]) == len(CAMERAS)
