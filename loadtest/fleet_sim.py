"""Control-plane scale proof: the real FleetSupervisor with 10,417 synthetic cameras on ≥ 100 real shards.

    .venv/bin/python -m loadtest.fleet_sim [--cameras 10417] [--shards 100] [--json fleet.json]

Cameras are `synthetic://64x36?fps=1&detect=0` (`--fps`) (video/synthetic.py): no thread, no decode and no
Detector, so what is measured is the control plane — placement, shard start-up, heartbeats, failover,
rebalancing — with real heartbeats, camera states, rates and analytics. Shards reserve no CPU (`num_cpus=0`) so
100+ fit on 2 cores.

Measured: pure placement (assignment.place + shards_needed, no Ray); starting the shard processes (first,
alone: on 2 cores a Ray worker process takes ~0.5 s of CPU to start, so 100 of them are process spawning, not
assignment); adding every camera in one call → every camera online; re-homing after killing 10 % of the shards
(ray.kill) and cameras lost; cameras moved by one rebalance round after adding shards; supervisor memory and
loop latency; the Ray metrics endpoint's size and scrape time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import tempfile
import time
import urllib.request
from collections import Counter

import psutil
import ray

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from matakota.actors.placement import Shard, estimated_cost, place, shards_needed  # noqa: E402
from matakota.cluster import bootstrap  # noqa: E402
from matakota.config import Config, parse_config  # noqa: E402
from matakota.core.messages import Capacity  # noqa: E402
from matakota.core.names import NAMESPACE  # noqa: E402
from matakota.core.stats import percentiles  # noqa: E402

CITY_CAMERAS = 10_417
SITES = 10


def fleet_config(cameras: int, shards: int, store_dir: str, *, tolerance: float = 0.1, max_moves: int = 20,
                 heartbeat_s: float = 2.0, fps: float = 1.0) -> Config:
    """`cameras` synthetic cameras at `fps`, sized to land on `shards` shards (at the supervisor's 80 % fill)."""
    per_shard = math.ceil(cameras / (shards * 0.8))
    return parse_config({
        "fleet": {
            "allow_files": True,  # synthetic:// is allowed where local files are
            "shards": {"cameras_per_shard": per_shard, "num_cpus": 0, "tick_s": 0.2, "heartbeat_period_s": heartbeat_s,
                       "rebalance_period_s": 86_400, "rebalance_tolerance": tolerance,
                       "max_moves_per_round": max_moves},
            "cameras": [{"id": f"cam-{i:05d}", "site": f"site-{i % SITES}", "url": f"synthetic://64x36?fps={fps:g}&detect=0",
                         "decode": {"mode": "keyframes"}, "analytics": {"fps": fps}} for i in range(cameras)],
        },
        "store": {"url": os.path.join(store_dir, "fleet-sim.db")},
    })


def pure_placement(config: Config) -> dict:
    """The supervisor's placement logic alone (no Ray): shards_needed + place for the whole fleet."""
    options = config.fleet.shards
    capacity = Capacity(options.cameras_per_shard, options.max_load)
    costs = {c.id: estimated_cost(c) for c in config.fleet.cameras}
    started = time.perf_counter()
    shards = {f"shard-{i}": Shard(f"shard-{i}") for i in range(shards_needed(costs, capacity))}
    unplaced = place(sorted(costs), shards, costs, capacity)
    return {"seconds": time.perf_counter() - started, "shards": len(shards), "unplaced": len(unplaced)}


def camera_states(supervisor) -> Counter:
    return Counter(row.state.value for row in ray.get(supervisor.cameras.remote()))


def wait_all_online(supervisor, cameras: int, timeout_s: float, interval_s: float = 0.5) -> tuple[bool, Counter]:
    deadline = time.monotonic() + timeout_s
    while True:
        states = camera_states(supervisor)
        if states["online"] == cameras or time.monotonic() > deadline:
            return states["online"] == cameras, states
        time.sleep(interval_s)


def loop_samples(supervisor) -> list[float]:
    """The supervisor's recent loop durations (the last LOOP_SAMPLES)."""
    return ray.get(supervisor.__ray_call__.remote(lambda sup: list(sup.loop_seconds)))


def memory_mib(actor) -> dict:
    """Resident (RSS) and unique (USS: freed if the process exits) memory of the actor's process."""
    info = ray.get(actor.__ray_call__.remote(lambda _: psutil.Process().memory_full_info()))
    return {"rss_mib": info.rss / 2**20, "uss_mib": info.uss / 2**20}


def scrape_metrics() -> dict:
    """Ray's per-node Prometheus endpoint: size, series and scrape time."""
    port = ray._private.worker.global_worker.node.metrics_export_port
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as response:
        body = response.read()
    seconds = time.perf_counter() - started
    series = [line for line in body.decode().splitlines() if line and not line.startswith("#")]
    return {"bytes": len(body), "series": len(series), "matakota_series": sum(s.startswith("ray_matakota") for s in series),
            "camera_series": sum(s.startswith("ray_matakota_camera_") for s in series),
            "camera_up_series": sum(s.startswith("ray_matakota_camera_up{") for s in series), "scrape_s": seconds}


def busy_cores(seconds: float) -> float:
    """CPU cores the whole machine kept busy over the next `seconds` (every process: shards, Ray, supervisor)."""
    return psutil.cpu_percent(interval=seconds) / 100 * psutil.cpu_count()


def wait_shards_up(supervisor, count: int, timeout_s: float) -> bool:
    """Until `count` shards have answered a heartbeat."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        shards = ray.get(supervisor.fleet_view.remote()).shards
        if sum(s.last_heartbeat is not None for s in shards) >= count:
            return True
        time.sleep(0.2)
    return False


def kill_shards(fraction: float) -> list[str]:
    names = sorted((a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                    if a["namespace"] == NAMESPACE and a["name"].startswith("shard-")),
                   key=lambda n: int(n.removeprefix("shard-")))
    victims = names[:: max(1, round(1 / fraction))][: max(1, round(len(names) * fraction))]
    for name in victims:
        ray.kill(ray.get_actor(name, namespace=NAMESPACE), no_restart=True)
    return victims


def wait_failovers(supervisor, victims: list[str], timeout_s: float) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        failovers = ray.get(supervisor.fleet_view.remote()).failovers
        done = {f.shard for f in failovers if f.duration_s is not None}
        if set(victims) <= done or time.monotonic() > deadline:
            return failovers
        time.sleep(0.2)


def simulate(cameras: int = CITY_CAMERAS, shards: int = 100, *, kill_fraction: float = 0.1, add_shards: int = 10,
             settle_s: float = 15.0, timeout_s: float = 300.0, tolerance: float = 0.1, max_moves: int = 20,
             heartbeat_s: float = 2.0, fps: float = 1.0) -> dict:
    """Run the whole scenario on the connected Ray; returns every figure (the fleet is stopped at the end)."""
    with tempfile.TemporaryDirectory(prefix="fleet-sim-") as store_dir:
        config = fleet_config(cameras, shards, store_dir, tolerance=tolerance, max_moves=max_moves,
                              heartbeat_s=heartbeat_s, fps=fps)
        result = {"cameras": cameras, "fps": fps, "heartbeat_s": heartbeat_s, "placement": pure_placement(config)}
        try:
            result.update(_scenario(config, shards, kill_fraction, add_shards, settle_s, timeout_s))
        finally:
            bootstrap.stop_fleet()
    return result


def _scenario(config: Config, shards: int, kill_fraction: float, add_shards: int, settle_s: float,
              timeout_s: float) -> dict:
    cameras = [camera.model_dump(mode="json") for camera in config.fleet.cameras]
    empty = config.model_copy(update={"fleet": config.fleet.model_copy(update={"cameras": []})})
    started = time.perf_counter()
    supervisor = bootstrap.start_fleet(empty, reset=True)
    ray.get(supervisor.scale_shards.remote(shards))
    up = wait_shards_up(supervisor, shards, timeout_s)
    out = {"shards_started": {"shards": shards, "seconds": time.perf_counter() - started, "all_up": up,
                              "idle_busy_cores": busy_cores(5.0)}}
    progress(f"{shards} shards up: {up} after {out['shards_started']['seconds']:.1f} s")

    started = time.perf_counter()
    ray.get(supervisor.add_cameras.remote(cameras))
    placed_s = time.perf_counter() - started
    online, states = wait_all_online(supervisor, len(cameras), timeout_s)
    out["start"] = {"placed_s": placed_s, "all_online_s": time.perf_counter() - started, "all_online": online,
                    "states": dict(states)}
    progress(f"placed in {placed_s:.1f} s, all online: {online} after {out['start']['all_online_s']:.1f} s")
    view = ray.get(supervisor.fleet_view.remote())
    out["shards"] = len(view.shards)
    per_shard = [s.cameras for s in view.shards]
    out["cameras_per_shard"] = {"min": min(per_shard), "max": max(per_shard)}

    loops_before = len(loop_samples(supervisor))
    out["steady_busy_cores"] = busy_cores(settle_s)
    steady = loop_samples(supervisor)[loops_before:]
    started = time.perf_counter()
    view = ray.get(supervisor.fleet_view.remote())
    out["supervisor"] = {"memory": memory_mib(supervisor), "loop": {**dict(zip(("p50", "p99"), percentiles(steady))),
                                                                    "loops": len(steady)},
                         "fleet_view_s": time.perf_counter() - started}
    out["metrics"] = scrape_metrics()
    out["shard_memory"] = memory_mib(ray.get_actor(view.shards[0].name, namespace=NAMESPACE))
    out["node_memory_used_gib"] = (psutil.virtual_memory().total - psutil.virtual_memory().available) / 2**30
    progress(f"steady: supervisor {out['supervisor']}, metrics {out['metrics']}")

    killed_at = time.time()
    victims = kill_shards(kill_fraction)
    failovers = wait_failovers(supervisor, victims, timeout_s)
    online, states = wait_all_online(supervisor, len(cameras), timeout_s)
    mine = [f for f in failovers if f.shard in victims]
    out["failover"] = {
        "killed": len(victims), "cameras": sum(f.cameras for f in mine),
        "detected_s": max(f.at for f in mine) - killed_at,
        "rehomed_s": max(f.at + (f.duration_s or math.inf) for f in mine) - killed_at,
        "slowest_duration_s": max(f.duration_s or math.inf for f in mine),
        "spurious": sum(f.shard not in victims for f in failovers),
    }
    assignment = ray.get(supervisor.assignment.remote())
    out["lost"] = {"not_online": len(cameras) - states["online"], "unassigned": len(cameras) - len(assignment)}
    progress(f"failover: {out['failover']}, lost: {out['lost']}")

    view = ray.get(supervisor.fleet_view.remote())
    before = [s.load for s in view.shards]
    ray.get(supervisor.scale_shards.remote(len(view.shards) + add_shards))
    wait_shards_up(supervisor, len(view.shards) + add_shards, timeout_s)
    started = time.perf_counter()
    moves = ray.get(supervisor.rebalance_now.remote())
    out["rebalance"] = {"added_shards": add_shards, "moved": len(moves), "seconds": time.perf_counter() - started,
                        "max_over_mean_before": max(before) / (sum(before) / len(before))}
    online, states = wait_all_online(supervisor, len(cameras), timeout_s)
    out["lost"]["not_online_after_rebalance"] = len(cameras) - states["online"]
    view = ray.get(supervisor.fleet_view.remote())
    out["supervisor"]["loop_whole_run"] = dataclasses.asdict(view.loop_seconds)
    out["supervisor"]["memory_end"] = memory_mib(supervisor)
    return out


def progress(message: str) -> None:
    print(f"[fleet_sim] {message}", flush=True)


def table(result: dict) -> str:
    start, fail, sup, met, reb = (result[k] for k in ("start", "failover", "supervisor", "metrics", "rebalance"))
    loop = sup["loop"]
    rows = [
        ("cameras @ fps / shards (heartbeat period)", f"{result['cameras']:,} @ {result['fps']:g} / {result['shards']} "
                             f"({result['cameras_per_shard']['min']}–{result['cameras_per_shard']['max']} per shard; "
                             f"{result['heartbeat_s']:g} s)"),
        ("pure placement (shards_needed + place)", f"{result['placement']['seconds'] * 1000:.0f} ms "
                                                   f"({result['placement']['shards']} shards)"),
        (f"start {result['shards_started']['shards']} shard processes → all heartbeating",
         f"{result['shards_started']['seconds']:.1f} s"),
        ("machine CPU busy: shards idle / steady", f"{result['shards_started']['idle_busy_cores']:.2f} / "
                                                  f"{result['steady_busy_cores']:.2f} of {psutil.cpu_count()} cores"),
        ("add every camera (one call) → all placed", f"{start['placed_s']:.1f} s"),
        ("add every camera → all cameras online", f"{start['all_online_s']:.1f} s   (goal < 10 s)"),
        (f"kill {fail['killed']} shards ({fail['cameras']:,} cameras) → detected", f"{fail['detected_s']:.1f} s"),
        ("kill → all re-homed and online", f"{fail['rehomed_s']:.1f} s   (goal < 30 s)"),
        ("cameras lost (not online / unassigned)", f"{result['lost']['not_online']} / {result['lost']['unassigned']}"
                                                   f"; after rebalance {result['lost']['not_online_after_rebalance']}"),
        ("spurious failovers (healthy shards)", f"{fail['spurious']}"),
        (f"rebalance after +{reb['added_shards']} shards: moved", f"{reb['moved']} cameras in {reb['seconds']:.1f} s "
                                                                  f"(max/mean load before {reb['max_over_mean_before']:.2f})"),
        ("supervisor RSS / USS (steady)", f"{sup['memory']['rss_mib']:.0f} / {sup['memory']['uss_mib']:.0f} MiB "
                                          f"(end: {sup['memory_end']['rss_mib']:.0f} / {sup['memory_end']['uss_mib']:.0f})"),
        ("supervisor loop, steady (p50 / p99)", f"{_ms(loop['p50'])} / {_ms(loop['p99'])} over {loop['loops']} loops"),
        ("supervisor loop, whole run (p50 / p99)", f"{_ms(sup['loop_whole_run']['p50'])} / "
                                                  f"{_ms(sup['loop_whole_run']['p99'])}"),
        ("fleet_view() round trip", f"{sup['fleet_view_s'] * 1000:.0f} ms"),
        ("one shard RSS / USS", f"{result['shard_memory']['rss_mib']:.0f} / {result['shard_memory']['uss_mib']:.0f} MiB"),
        ("machine memory in use (all processes)", f"{result['node_memory_used_gib']:.1f} GiB"),
        ("metrics endpoint: size / series", f"{met['bytes'] / 2**20:.1f} MiB / {met['series']:,} "
                                            f"({met['camera_series']:,} per-camera)"),
        ("metrics endpoint: camera_up series", f"{met['camera_up_series']:,} for {result['cameras']:,} cameras "
                                               "(Ray keeps ≤ 2,000 per metric and node)"),
        ("metrics endpoint: scrape time", f"{met['scrape_s'] * 1000:.0f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=CITY_CAMERAS)
    parser.add_argument("--shards", type=int, default=100, help="shards the fleet is sized to (at 80 %% fill)")
    parser.add_argument("--kill-fraction", type=float, default=0.1)
    parser.add_argument("--add-shards", type=int, default=10, help="shards added before one rebalance round")
    parser.add_argument("--settle", type=float, default=15.0, help="seconds of steady state measured")
    parser.add_argument("--timeout", type=float, default=300.0, help="deadline of each wait")
    parser.add_argument("--heartbeat", type=float, default=2.0, help="supervisor heartbeat period (s)")
    parser.add_argument("--fps", type=float, default=1.0, help="frames/s of each synthetic camera (and analysed)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    ray.init(namespace=NAMESPACE, include_dashboard=False, log_to_driver=False)
    try:
        result = simulate(args.cameras, args.shards, kill_fraction=args.kill_fraction, add_shards=args.add_shards,
                          settle_s=args.settle, timeout_s=args.timeout, heartbeat_s=args.heartbeat, fps=args.fps)
    finally:
        ray.shutdown()
    print(table(result))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
