"""Ingest capacity: raw PyAV decode vs real CameraShards, cameras per core at 1 analysed fps, end-to-end latency.

    .venv/bin/python -m loadtest.bench_ingest [--steps 4,8,16,24,32,48,64] [--json ingest.json]

1. raw PyAV decode of the clip on one core: all frames, and keyframes only (source frames/s);
2. the real supervisor, real shards and the real Serve Detector on local Ray, with file cameras (the clip, looped
   and paced like a live camera) at 1 analysed fps, `keyframes` then `sampled` decode: the number of cameras is
   ramped until fps_analysed stops keeping up. Per step: analysed fps vs target, end-to-end latency (frame
   decoded → detections back) p50/p99, CPU of the shard processes, memory of the shards per camera;
3. shard decode efficiency: source frames per shard CPU-second ÷ raw PyAV frames per core (same clip).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import time

import av
import numpy as np
import psutil
import ray

from loadtest.bench_decode import DEFAULT_CLIP, clip_path, memory_per_reader, raw_pyav
from matakota.cluster import bootstrap
from matakota.config import parse_config
from matakota.core.messages import CameraState
from matakota.core.names import NAMESPACE
from matakota.video.sources import release_freed_memory

TARGET_FPS = 1.0
KEEPING_UP = 0.8  # a camera keeps up at ≥ 80 % of its target rate (±1 frame in a 10 s window is ±10 %)
MODES = ("keyframes", "sampled")


@contextlib.contextmanager
def one_core():
    """Pin this process to one core for the duration (like one camera's share of a node)."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def raw_decode(clip: str) -> dict:
    with one_core():
        frames, all_s = raw_pyav(clip, keyframes=False)
        _, key_s = raw_pyav(clip, keyframes=True)
    return {"all_fps_per_core": frames / all_s, "keyframes_src_fps_per_core": frames / key_s}


def clip_fps(clip: str) -> float:
    with av.open(clip) as container:
        return float(container.streams.video[0].average_rate)


def camera(index: int, clip: str, mode: str) -> dict:
    return {"id": f"{mode}-{index:03d}", "site": "bench", "url": clip, "decode": {"mode": mode},
            "analytics": {"fps": TARGET_FPS}}


def shard_handles(supervisor) -> list:
    return [ray.get_actor(s.name, namespace=NAMESPACE) for s in ray.get(supervisor.fleet_view.remote()).shards]


def wait_online(supervisor, count: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sum(row.state is CameraState.ONLINE for row in ray.get(supervisor.cameras.remote())) >= count:
            return True
        time.sleep(0.5)
    return False


def _clear_latencies(shard) -> None:
    ray.get(shard.__ray_call__.remote(lambda s: [r.latencies.clear() for r in s.cameras.values()]))


def _sample(shards) -> dict:
    """Per camera frames counters, latencies since the last clear, and the shards' CPU seconds and memory."""
    def probe(s):
        release_freed_memory()  # what the shard does every minute anyway: USS is then the memory it holds
        info = psutil.Process()
        times, memory = info.cpu_times(), info.memory_full_info()
        return {"cpu_s": times.user + times.system, "uss": memory.uss,
                "cameras": {cid: (r.counters["frames_analysed"], list(r.latencies), r.reader.stats().frames_decoded)
                            for cid, r in s.cameras.items()}}
    probes = ray.get([shard.__ray_call__.remote(probe) for shard in shards])
    return {"time": time.monotonic(), "cpu_s": sum(p["cpu_s"] for p in probes), "uss": sum(p["uss"] for p in probes),
            "cameras": {cid: v for p in probes for cid, v in p["cameras"].items()}}


def measure_step(supervisor, cameras: int, source_fps: float, measure_s: float) -> dict:
    shards = shard_handles(supervisor)
    for shard in shards:
        _clear_latencies(shard)
    before = _sample(shards)
    time.sleep(measure_s)
    after = _sample(shards)
    elapsed = after["time"] - before["time"]
    rates = [(after["cameras"][c][0] - before["cameras"].get(c, (0, [], 0))[0]) / elapsed for c in after["cameras"]]
    decoded = sum(after["cameras"][c][2] - before["cameras"].get(c, (0, [], 0))[2] for c in after["cameras"]) / elapsed
    latencies = [v for _, lat, _ in after["cameras"].values() for v in lat]
    p50, p99 = np.percentile(latencies, [50, 99]) if latencies else (None, None)
    shard_cores = (after["cpu_s"] - before["cpu_s"]) / elapsed
    return {
        "cameras": cameras,
        "shards": len(shards),
        "fps_analysed_mean": float(np.mean(rates)),
        "keeping_up": float(np.mean([r >= KEEPING_UP * TARGET_FPS for r in rates])),
        "latency_p50_s": None if p50 is None else float(p50),
        "latency_p99_s": None if p99 is None else float(p99),
        "shard_cores": shard_cores,
        "source_fps": cameras * source_fps,  # as the streams are encoded
        "decoded_fps": decoded,  # frames the readers decoded (keyframes mode: keyframes only)
        "shard_uss_mib_per_camera": after["uss"] / 2**20 / cameras,
        "machine_cores_busy": psutil.cpu_percent(interval=None) / 100 * psutil.cpu_count(),
    }


def ramp(config_base: dict, clip: str, mode: str, steps: list[int], warmup_s: float, measure_s: float) -> list[dict]:
    """Add cameras step by step until fewer than 95 % of them keep up; the fleet is stopped at the end."""
    source_fps = clip_fps(clip)
    rows = []
    config = parse_config({**config_base, "fleet": {**config_base["fleet"],
                                                    "cameras": [camera(i, clip, mode) for i in range(steps[0])]}})
    supervisor = bootstrap.start_fleet(config, reset=True)
    try:
        for step in steps:
            for i in range(len(ray.get(supervisor.cameras.remote())), step):
                ray.get(supervisor.add_camera.remote(camera(i, clip, mode)))
            wait_online(supervisor, step, 60)
            time.sleep(warmup_s)
            psutil.cpu_percent(interval=None)
            row = measure_step(supervisor, step, source_fps, measure_s)
            rows.append(row)
            print(f"  {mode:9} {step:3} cameras: {row['fps_analysed_mean']:.2f} fps analysed, "
                  f"{row['keeping_up']:.0%} keep up, p99 {row['latency_p99_s'] or 0:.3f} s, "
                  f"shards {row['shard_cores']:.2f} cores", flush=True)
            if row["keeping_up"] < 0.95:
                break
    finally:
        bootstrap.stop_fleet()
    return rows


def summarise(mode: str, rows: list[dict], raw: dict) -> dict:
    """The highest step that kept up, as cameras per core (whole box and shard CPU only) and decode efficiency."""
    kept = [r for r in rows if r["keeping_up"] >= 0.95]
    best = kept[-1] if kept else rows[0]
    raw_fps = raw["keyframes_src_fps_per_core" if mode == "keyframes" else "all_fps_per_core"]
    return {
        "max_cameras_kept_up": best["cameras"] if kept else 0,
        "limit_reached": len(kept) < len(rows),  # False: the ramp ended before the box stopped keeping up
        "cameras_per_core_box": (best["cameras"] if kept else 0) / psutil.cpu_count(),
        "cameras_per_shard_core": best["cameras"] / best["shard_cores"] if best["shard_cores"] else None,
        "shard_decode_src_fps_per_core": best["source_fps"] / best["shard_cores"] if best["shard_cores"] else None,
        "shard_vs_raw_decode": best["source_fps"] / best["shard_cores"] / raw_fps if best["shard_cores"] else None,
        "latency_p50_s": best["latency_p50_s"],
        "latency_p99_s": best["latency_p99_s"],
        "shard_uss_mib_per_camera": best["shard_uss_mib_per_camera"],
        "steps": rows,
    }


def fleet_base(store_dir: str) -> dict:
    return {
        "fleet": {"allow_files": True, "shards": {"num_cpus": 0}},
        "store": {"url": os.path.join(store_dir, "ingest.db")},
    }


def bench_ingest(clip: str, steps: list[int], warmup_s: float, measure_s: float, readers: int) -> dict:
    """Everything above, on the connected Ray with the matakota Serve app deployed."""
    raw = raw_decode(clip)
    out = {"clip": os.path.basename(clip), "clip_fps": clip_fps(clip), "raw": raw,
           "reader_mib": memory_per_reader(clip, readers)}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as store_dir:
        for mode in MODES:
            out[mode] = summarise(mode, ramp(fleet_base(store_dir), clip, mode, steps, warmup_s, measure_s), raw)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", help=f"video file (default: the {DEFAULT_CLIP} stream profile, loadtest/streams.py)")
    parser.add_argument("--steps", default="4,8,16,24,32,48,64", help="camera counts of the ramp")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--measure", type=float, default=12.0)
    parser.add_argument("--readers", type=int, default=20, help="readers for the memory-per-camera figure")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    bootstrap.start_ray(num_cpus=os.cpu_count())
    try:
        bootstrap.deploy(parse_config({"api": {"port": 8124}}))
        result = bench_ingest(clip_path(args.clip), [int(s) for s in args.steps.split(",")], args.warmup, args.measure,
                              args.readers)
    finally:
        bootstrap.shutdown()
    print(json.dumps({k: v for k, v in result.items() if k not in MODES}, indent=1))
    for mode in MODES:
        print(mode, json.dumps({k: v for k, v in result[mode].items() if k != "steps"}, indent=1))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
