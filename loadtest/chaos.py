"""Chaos on a local multi-node cluster: for N minutes, kill at random a shard, a worker node (its raylet and every
process on it, then a fresh node joins), the EventSink, the Detector replica or the supervisor, while file cameras
run; then compare the store with what the cameras showed.

    .venv/bin/python -m loadtest.chaos [--minutes 5] [--cameras 6] [--every 20] [--json chaos.json]

The truth: each camera is analysed once a second, so each `interval_s` window should hold `interval_s` analysed
frames (`samples`, summed over the count parts of every run of the camera). Per camera it prints availability (frames
stored / frames the camera showed while the run lasted) and windows that were lost (nothing stored) or doubled (more
frames than the camera showed: analysed twice).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sqlite3
import tempfile
import time
from collections import defaultdict

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

from matakota.cluster import bootstrap  # noqa: E402
from matakota.config import parse_config  # noqa: E402
from matakota.core.assets import fetch  # noqa: E402
from matakota.core.messages import CameraState  # noqa: E402
from matakota.core.names import EVENT_SINK_NAME, NAMESPACE, SHARD_PREFIX, SUPERVISOR_NAME  # noqa: E402

INTERVAL_S = 10
FPS = 1.0
WHOLE_FRAME = {"name": "all", "kind": "counting", "units": "norm", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}
ANALYTICS = {"fps": FPS, "count_interval_s": INTERVAL_S, "count_checkpoint_s": 2, "frame_size": [768, 432], "zones": [WHOLE_FRAME]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill(name: str, namespace: str = NAMESPACE, restart: bool = False) -> bool:
    try:
        ray.kill(ray.get_actor(name, namespace=namespace), no_restart=not restart)
        return True
    except ValueError:
        return False


def chaos_step(cluster: Cluster, workers: list, rng: random.Random) -> str:
    action = rng.choice(["shard", "node", "sink", "detector", "supervisor"])
    if action == "shard":
        shards = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                  if a["namespace"] == NAMESPACE and a["name"].startswith(SHARD_PREFIX)]
        victim = rng.choice(shards) if shards else None
        return f"killed {victim}" if victim and kill(victim) else "no shard to kill"
    if action == "node":
        victim = workers.pop(rng.randrange(len(workers)))
        cluster.remove_node(victim)
        workers.append(cluster.add_node(num_cpus=4))
        return "replaced a worker node"
    if action == "sink":
        return "killed the EventSink" if kill(EVENT_SINK_NAME, restart=True) else "no sink"
    if action == "supervisor":
        return "killed the supervisor" if kill(SUPERVISOR_NAME, restart=True) else "no supervisor"
    replicas = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if "#Detector#" in a["name"]]
    return "killed a Detector replica" if replicas and kill(replicas[0], "serve", restart=True) else "no replica"


def windows(db: str, start: float, end: float) -> dict[str, dict[float, int]]:
    """camera → window start → frames stored (one zone per camera: its samples are the analysed frames)."""
    stored: dict[str, dict[float, int]] = defaultdict(dict)
    with sqlite3.connect(db) as conn:
        for camera, window, samples in conn.execute(
                "SELECT camera, start_ts, SUM(samples) FROM counts WHERE kind = 'zone' AND start_ts >= ? "
                "AND end_ts <= ? GROUP BY camera, start_ts", (start, end)):
            stored[camera][window] = samples
    return stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--cameras", type=int, default=6)
    parser.add_argument("--every", type=float, default=20.0, help="seconds between two failures")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    db = os.path.join(tempfile.mkdtemp(prefix="matakota-chaos-"), "matakota.db")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    workers = [cluster.add_node(num_cpus=4) for _ in range(2)]
    ray.init(address=cluster.address, namespace=NAMESPACE, log_to_driver=False)
    cameras = [f"cam-{i}" for i in range(args.cameras)]
    clip = str(fetch("one-by-one-person-detection"))
    config = parse_config({
        "api": {"port": free_port()},
        "store": {"url": db},
        "fleet": {"allow_files": True, "shards": {"cameras_per_shard": 2},
                  "cameras": [{"id": c, "site": "chaos", "url": clip, "decode": {"mode": "keyframes"},
                               "analytics": ANALYTICS} for c in cameras]},
    })
    try:
        bootstrap.deploy(config)
        supervisor = bootstrap.start_fleet(config, reset=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not all(
                r.state is CameraState.ONLINE for r in ray.get(supervisor.cameras.remote())):
            time.sleep(1)
        offline = [r.id for r in ray.get(supervisor.cameras.remote()) if r.state is not CameraState.ONLINE]
        if offline:
            raise SystemExit(f"cameras not online after 180 s: {offline}")
        time.sleep(INTERVAL_S)  # the first windows closed
        start = time.time()
        actions = []
        while (left := args.minutes * 60 - (time.time() - start)) > args.every:
            time.sleep(args.every)
            actions.append((round(time.time() - start, 1), chaos_step(cluster, workers, rng)))
            print(f"{actions[-1][0]:7.1f} s  {actions[-1][1]}", flush=True)
        time.sleep(max(0.0, left))
        end = time.time()
        time.sleep(INTERVAL_S + 15)  # the last windows close and reach the store
        bootstrap.stop_fleet()
    finally:
        ray.shutdown()
        cluster.shutdown()
    first = (start // INTERVAL_S + 1) * INTERVAL_S
    expected = [first + k * INTERVAL_S for k in range(int((end - first) // INTERVAL_S))]
    stored = windows(db, first, expected[-1] + INTERVAL_S)
    report = {"minutes": args.minutes, "failures": actions, "cameras": {}}
    for camera in cameras:
        frames = [stored[camera].get(w, 0) for w in expected]
        due = INTERVAL_S * FPS
        report["cameras"][camera] = {
            "availability": round(sum(min(f, due) for f in frames) / (len(expected) * due), 3),
            "windows": len(expected), "lost": sum(f == 0 for f in frames),
            "doubled": sum(f > due * 1.2 for f in frames)}
    for camera, r in report["cameras"].items():
        print(f"{camera}: availability {r['availability']:.1%}, windows lost {r['lost']}/{r['windows']}, "
              f"doubled {r['doubled']}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=1)


if __name__ == "__main__":
    main()
