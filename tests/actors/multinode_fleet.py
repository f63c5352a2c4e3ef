"""A fleet on a local multi-node Ray cluster as KubeRay runs one: a head node with `num-cpus: 0` and two worker nodes,
each its own raylet (`ray.cluster_utils.Cluster`), the GCS backed by Redis (GCS fault tolerance; a per-run key
namespace, deleted afterwards). The cameras come up spread over the workers; then the GCS is killed and started
again; then the worker running the most shards is removed mid-stream (its raylet and every worker process on it
die, as when a pod is lost). Prints one JSON document of what it saw; tests/actors/test_multinode.py asserts on it.

    .venv/bin/python -m tests.actors.multinode_fleet CLIP STORE_DB [REDIS_HOST:PORT]
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter

import ray
from ray._private import state
from ray.cluster_utils import Cluster

from matakota.actors import desired_state
from matakota.cluster import bootstrap
from matakota.config import parse_config
from matakota.core.messages import CameraState
from matakota.core.names import NAMESPACE
from tests.network import free_port

CAMERAS = [f"cam-{i}" for i in range(6)]
FPS, WINDOW_S = 1.0, 10  # analysed frames per second; count windows: each should hold FPS × WINDOW_S frames
CHECKPOINT_S = 2  # the window in progress is stored this often: a lost node loses at most these seconds of it


def wait_for(predicate, timeout_s: float, interval_s: float = 0.25):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if value := predicate():
                return value
        except ray.exceptions.RayError:
            pass
        time.sleep(interval_s)
    return None


def stored_frames(db: str, start: float, end: float) -> dict[str, dict]:
    """Per camera, over the whole windows between start and end: frames the camera showed, frames analysed and
    stored (the zone's samples, summed over every run's part), and windows holding more than the camera showed."""
    first, last = (int(start // WINDOW_S) + 1) * WINDOW_S, int(end // WINDOW_S) * WINDOW_S
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT camera, start_ts, SUM(samples) FROM counts WHERE kind = 'zone' AND start_ts >= ? "
                            "AND start_ts < ? GROUP BY camera, start_ts", (first, last)).fetchall()
    shown = (last - first) * FPS
    result = {c: {"shown": shown, "stored": 0, "doubled_windows": 0} for c in CAMERAS}
    for camera, _, samples in rows:
        result[camera]["stored"] += min(samples, WINDOW_S * FPS)
        result[camera]["doubled_windows"] += samples > WINDOW_S * FPS + 1  # a frame of jitter at a window's edge
    return result


def alive_actors() -> dict[str, str]:
    """Named live actors → node id."""
    return {a["Name"]: a["Address"]["NodeID"] for a in state.actors(actor_state_name="ALIVE").values() if a["Name"]}


def run(clip: str, db: str, redis: str = "127.0.0.1:6379") -> dict:
    namespace = f"matakota-test-{uuid.uuid4().hex[:10]}"
    os.environ.update(RAY_REDIS_ADDRESS=redis, RAY_external_storage_namespace=namespace)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    workers = [cluster.add_node(num_cpus=4) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace=NAMESPACE, log_to_driver=False)
    try:
        config = parse_config({
            "api": {"port": free_port()},
            "detector": {"max_batch_size": 8, "batch_wait_timeout_s": 0.02, "num_replicas": 2},  # one per worker
            "store": {"url": db},
            "fleet": {"allow_files": True, "shards": {"cameras_per_shard": 2, "rebalance_period_s": 3600},
                      "cameras": [{"id": c, "site": "kota-lama", "url": clip, "decode": {"mode": "keyframes"},
                                   "analytics": {"fps": FPS, "count_interval_s": WINDOW_S,
                                                 "count_checkpoint_s": CHECKPOINT_S, "frame_size": [768, 432],
                                                 "zones": [{"name": "all", "kind": "counting", "units": "norm",
                                                            "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}]}}
                                  for c in CAMERAS]},
        })
        bootstrap.deploy(config)
        supervisor = bootstrap.start_fleet(config, reset=True)

        def rows():
            return {r.id: r for r in ray.get(supervisor.cameras.remote(), timeout=10)}

        started = wait_for(lambda: all(r.state is CameraState.ONLINE for r in rows().values()), 120)
        nodes = {"head": cluster.head_node.node_id, **{f"worker-{i}": w.node_id for i, w in enumerate(workers)}}
        named = {node_id: label for label, node_id in nodes.items()}
        placed = {name: named.get(node, node) for name, node in alive_actors().items()}
        shards = {s.name: named.get(s.node, s.node) for s in ray.get(supervisor.fleet_view.remote()).shards}
        per_node = Counter(shards.values())
        assignment = ray.get(supervisor.assignment.remote())

        decoded = {c: r.frames_decoded for c, r in rows().items()}
        cluster.head_node.kill_gcs_server()
        gcs_down_at = time.monotonic()
        time.sleep(3)
        cluster.head_node.start_gcs_server()
        gcs = {"recovered": bool(wait_for(lambda: ray.get(supervisor.assignment.remote(), timeout=5) == assignment
                                          and all(r.state is CameraState.ONLINE for r in rows().values()), 60)),
               "recovery_s": round(time.monotonic() - gcs_down_at, 1),
               "frames_went_on": all(r.frames_decoded > decoded[c] for c, r in rows().items()),
               "desired": sorted(desired_state.load() or {})}
        analysed = {c: r.frames_analysed for c, r in rows().items()}
        wait_for(lambda: all(r.frames_analysed >= analysed[c] + 2 for c, r in rows().items()), 60)
        gcs["analysis_resumed_s"] = round(time.monotonic() - gcs_down_at, 1)  # detections flow again
        time.sleep(2 * WINDOW_S)  # the windows compared below start after the GCS restart

        victim = max((label for label in nodes if label != "head"), key=lambda label: per_node[label])
        orphans = sorted(c for c, r in rows().items() if shards.get(r.shard) == victim)

        cluster.remove_node(workers[int(victim.removeprefix("worker-"))])  # the pod is gone
        lost_at, lost_epoch = time.monotonic(), time.time()

        def rehomed():
            now = rows()
            return all(now[c].state is CameraState.ONLINE and now[c].shard not in
                       {s for s, n in shards.items() if n == victim} for c in CAMERAS)

        recovered = wait_for(rehomed, 60)
        failover_s = time.monotonic() - lost_at
        after = {s.name: named.get(s.node, s.node) for s in ray.get(supervisor.fleet_view.remote()).shards}
        running: dict[str, list[str]] = {}  # asked of the shards themselves: no camera may run twice
        for name in after:
            beat = wait_for(lambda: ray.get(ray.get_actor(name, namespace=NAMESPACE).heartbeat.remote(), timeout=5), 5)
            for camera in beat.cameras if beat else ():
                running.setdefault(camera.id, []).append(name)
        online_after = sorted(c for c, r in rows().items() if r.state is CameraState.ONLINE)

        named[cluster.add_node(num_cpus=4).node_id] = "worker-new"  # a node joins: a new shard lands there
        cluster.wait_for_nodes()  # registered with the GCS before the supervisor looks for nodes to spread over
        new = sorted(set(ray.get(supervisor.scale_shards.remote(len(after) + 1))) - set(after))

        def shard_nodes():
            return {s.name: named.get(s.node, s.node) for s in ray.get(supervisor.fleet_view.remote()).shards}

        wait_for(lambda: all(shard_nodes().get(name) for name in new), 60)
        moved = ray.get(supervisor.rebalance_now.remote())
        node_back = {"new_shards_on": [shard_nodes().get(name) for name in new], "moved": len(moved),
                     "moved_again": len(ray.get(supervisor.rebalance_now.remote())),
                     "cameras_on_new_node": wait_for(lambda: sum(
                         shard_nodes().get(r.shard) == "worker-new" for r in rows().values()), 60) or 0,
                     "online": bool(wait_for(lambda: all(r.state is CameraState.ONLINE for r in rows().values()), 30)),
                     "seen": {c: [shard_nodes().get(r.shard), r.state.value, r.reason] for c, r in rows().items()}}
        time.sleep(2 * WINDOW_S)
        bootstrap.stop_fleet()  # the survivors hand over their open windows
        frames = stored_frames(db, lost_epoch - WINDOW_S, time.time() - WINDOW_S)
        return {"started": bool(started), "gcs_restart": gcs, "placed": placed, "shards": shards, "victim": victim,
                "orphans": orphans, "recovered": bool(recovered), "failover_s": round(failover_s, 1),
                "shards_after": after, "running": running, "online_after": online_after, "node_back": node_back,
                "frames": frames, "checkpoint_s": CHECKPOINT_S}
    finally:
        ray.shutdown()
        cluster.shutdown()
        _forget_keys(redis, namespace)


def _forget_keys(redis: str, namespace: str) -> None:
    """Delete this run's GCS keys from the shared Redis (Ray prefixes them with the storage namespace)."""
    host, port = redis.rsplit(":", 1)
    keys = subprocess.run(["redis-cli", "-h", host, "-p", port, "--scan", "--pattern", f"*{namespace}*"],
                          capture_output=True, text=True, check=False).stdout.split()
    for start in range(0, len(keys), 500):
        subprocess.run(["redis-cli", "-h", host, "-p", port, "DEL", *keys[start:start + 500]],
                       capture_output=True, check=False)


if __name__ == "__main__":
    print(json.dumps(run(*sys.argv[1:])))
