"""The capacity report: every benchmark in loadtest/ in one bounded run → reports/capacity.{json,md} + PNG plots.

    .venv/bin/python -m loadtest.capacity [--quick] [--out reports] [--fleet-cameras 10417]

Runs, on one local Ray with the real Serve app: the detector (raw ONNX Runtime vs Serve-batched vs HTTP), the
city's stream profiles over the RTSP simulator (loadtest/bench_profiles.py: real shards vs raw PyAV on the same
streams, cameras per shard core, memory per camera, latency), analytics cost, store throughput (SQLite), and the
supervisor at 10,417 simulated cameras (loadtest/fleet_sim.py); then the city's bill (loadtest/bill.py). Each
figure is reported with the limit it is compared with, measured in the same run (or the stated goal), and the
ratio; `figures` and `profile_figures` feed `k8s/sizing.py --report reports/capacity.json [--profile NAME]`, and a
GPU report already in `--out` (loadtest/gpu_bench.py) supplies the GPUs. `--quick` runs everything tiny (a few
minutes) to check the plumbing. On 2 cores the full run takes ~35 minutes (the 18 profiles ~20 of them, plus
~6 minutes encoding them the first time) and the fleet simulation ~4 minutes in a Ray of its own;
`--fleet-json` reuses a `fleet_sim.py --json` result.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import ray  # noqa: E402

from loadtest import bench_analytics, bench_detector, bench_profiles, bench_store, bill, fleet_sim  # noqa: E402
from loadtest.report import Figure, machine, plot, write_report  # noqa: E402
from loadtest.streams import PROFILES, stream_file  # noqa: E402
from matakota.actors.placement import ANALYSE_S_PER_FRAME  # noqa: E402
from matakota.cluster import bootstrap
from matakota.config import ShardConfig, parse_config  # noqa: E402
from matakota.core import assets  # noqa: E402
from matakota.video.media import read_frames  # noqa: E402

FULL = {"seconds": 6.0, "batches": [1, 2, 4, 8, 16], "producers": 8, "micro_batch": 4, "http_requests": 2000,
        "profiles": list(PROFILES), "profile_sizes": bench_profiles.Sizes(), "analytics_frames": 600, "store_cameras": 1000, "store_minutes": 240, "fleet_cameras": 10_417,
        "fleet_shards": 100, "fleet_settle_s": 15.0, "fleet_fps": 1.0, "fleet_heartbeat_s": 2.0}
QUICK = {"seconds": 1.0, "batches": [1, 4], "producers": 2, "micro_batch": 2, "http_requests": 40,
         "profiles": ["720p25-h264-gop2"], "profile_sizes": bench_profiles.QUICK, "analytics_frames": 60, "store_cameras": 20, "store_minutes": 10, "fleet_cameras": 120,
         "fleet_shards": 3, "fleet_settle_s": 1.0, "fleet_fps": 1.0, "fleet_heartbeat_s": 1.0}
COUNT_ROWS_PER_CAMERA_S = 1 / 60  # one zone count row per camera and minute
FLEET_GOALS = {"all_online_s": 10.0, "rehomed_s": 30.0}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_token() -> str:
    """A throwaway read token the API enforces (set before Ray starts, like a mounted Secret)."""
    token = "read-" + secrets.token_hex(16)
    path = Path(tempfile.mkdtemp(prefix="capacity-tokens-")) / "tokens"
    path.write_text(f"read {token}\n")
    os.environ["MATAKOTA_TOKENS_FILE"] = str(path)
    return token


def bench_detectors(p: dict, images: list[np.ndarray], api: str, token: str) -> dict:
    """loadtest/bench_detector.py's figures: each path against its limit measured in the same run."""
    return bench_detector.measure(bootstrap.detector_handle(), api, seconds=p["seconds"], rounds=2,
                                  batches=tuple(p["batches"]), producers=p["producers"], micro_batch=p["micro_batch"],
                                  clients=p["producers"] * 2, http_requests=p["http_requests"], token=token,
                                  images=images)


def bench_analytics_cost(frames: int) -> dict:
    out = {}
    for n in (0, 10, 50):
        cost = bench_analytics.bench_updates(n, frames)
        out[f"{n}_detections_us"] = {"median": float(np.median(cost)), "p99": float(np.percentile(cost, 99))}
    out["gauge_us_median"] = float(np.median(bench_analytics.bench_gauge()))
    return out


def bench_sqlite(cameras: int, minutes: int) -> dict:
    from matakota.store import open_store

    with tempfile.TemporaryDirectory(prefix="capacity-store-") as folder:
        store = open_store(Path(folder) / "bench.db")
        try:
            return bench_store.bench(store, cameras, minutes)
        finally:
            store.close()


def figures_for_sizing(detector: dict, profile_figures: dict, analytics: dict) -> dict:
    """The measured keys of k8s/sizing.py's FIGURES: the reference profile's, the detector's, the analytics'."""
    reference = profile_figures.get(bill.REFERENCE_PROFILE) or next(iter(profile_figures.values()), {})
    return {**reference, "analytics_s_per_frame": analytics["10_detections_us"]["median"] / 1e6,
            "ort_cpu_fps_per_core": detector["raw_best_fps"] / os.cpu_count()}


def frame_mib(name: str) -> float:
    """One full-size BGR frame of a profile: what a camera holding its newest frame cannot go below."""
    profile = PROFILES[name]
    return profile.width * profile.height * 3 / 2**20


def profile_rows(profiles: list[dict]) -> list[Figure]:
    deadline = parse_config({}).fleet.shards.frame_deadline_s
    out = []
    for r in profiles:
        what = f"{r['profile']} {r['mode']}"
        out += [
            Figure(f"{what}: shard decode (all shard CPU)", r["shard_src_fps_per_core"], "source frames/s per core",
                   "raw PyAV, same RTSP stream, 1 thread", r["raw_src_fps_per_core"]),
            Figure(f"{what}: cameras per shard core", r["cameras_per_shard_core"], "cameras/core",
                   "raw PyAV cameras per core", r["raw_cameras_per_core"]),
            Figure(f"{what}: memory per camera (USS slope)", r["mib_per_camera"], "MiB", "one full-size BGR frame",
                   frame_mib(r["profile"])),
            Figure(f"{what}: analysed fps per camera", r["analysed_fps"], "frames/s", "target",
                   r["analysed_fps_target"]),
            Figure(f"{what}: end-to-end latency p99", r["latency_p99_s"] or 0, "s", "frame deadline", deadline),
        ]
    return out


def profile_table(profiles: list[dict]) -> str:
    lines = ["## Per stream profile", "",
             "Real shards vs raw PyAV on the same RTSP stream (loadtest/bench_profiles.py), in this run. Cameras per "
             "shard core and memory per camera are what the city's bill multiplies.", "",
             "| profile | decode | Mbit/s | cameras | analysed fps (target) | cameras per shard core | shard ÷ raw "
             "| MiB per camera | shard fixed MiB | latency p50 / p99 s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in profiles:
        lines.append(f"| {r['profile']} | {r['mode']} | {r['mbps']:g} | {r['cameras']} | {r['analysed_fps']:.2f} "
                     f"({r['analysed_fps_target']:g}) | {r['cameras_per_shard_core']:.1f} | {r['shard_vs_raw']:.2f} "
                     f"| {r['mib_per_camera']:.1f} | {r['shard_fixed_mib']:.0f} "
                     f"| {r['latency_p50_s'] or 0:.2f} / {r['latency_p99_s'] or 0:.2f} |")
    return "\n".join(lines) + "\n"


def rows(detector: dict, profiles: list[dict], analytics: dict, store: dict, fleet: dict) -> list[Figure]:
    raw_best = f"raw ONNX Runtime, batch {detector['raw_best_batch']}"
    raw_jpeg = f"cv2.imdecode + letterbox + {raw_best}"
    out = [
        Figure("detector raw ONNX Runtime, best batch", detector["raw_best_fps"], "frames/s", "itself", detector["raw_best_fps"]),
        Figure("detector Serve-batched (handle)", detector["serve_fps"], "frames/s", raw_best, detector["raw_best_fps"]),
        Figure("detector raw ORT from 1080p JPEGs (full decode + letterbox)", detector["raw_jpeg_fps"], "frames/s",
               raw_best, detector["raw_best_fps"]),
        Figure("detector HTTP /v1/detect (1 1080p JPEG per request)", detector["http_fps"], "frames/s",
               f"{raw_jpeg}, same JPEGs", detector["raw_jpeg_fps"]),
        Figure("detector HTTP /v1/detect (1 768×432 JPEG per request)", detector["http_demo_fps"], "frames/s",
               f"{raw_jpeg}, same JPEGs", detector["raw_jpeg_demo_fps"]),
        Figure("HTTP /v1/detect latency p99", detector["http"]["latency_s"]["p99"] or 0, "s", "HTTP p50",
               detector["http"]["latency_s"]["p50"] or 0),
    ]
    out += profile_rows(profiles)
    a10 = analytics["10_detections_us"]["median"] / 1e6
    out.append(Figure("analytics per analysed frame (10 detections)", a10, "s", "supervisor's assumed cost",
                      ANALYSE_S_PER_FRAME))
    need = fleet_sim.CITY_CAMERAS * COUNT_ROWS_PER_CAMERA_S
    out += [Figure("SQLite count rows/s (batch 500)", store["count rows/s (batch 500)"], "rows/s",
                   "rows/s 10,417 cameras need (1 zone)", need),
            Figure("SQLite events/s (batch 500)", store["events/s (batch 500)"], "events/s",
                   "SQLite count rows/s (batch 500)", store["count rows/s (batch 500)"])]
    start, fail, loop = fleet["start"], fleet["failover"], fleet["supervisor"]["loop"]
    out += [
        Figure(f"fleet of {fleet['cameras']:,}: add all → all online", start["all_online_s"], "s", "goal",
               FLEET_GOALS["all_online_s"]),
        Figure(f"fleet of {fleet['cameras']:,}: pure placement", fleet["placement"]["seconds"], "s",
               "add all → all online", start["all_online_s"]),
        Figure(f"fleet: start {fleet['shards_started']['shards']} shard processes", fleet["shards_started"]["seconds"],
               "s", "shards.start_timeout_s (a slower shard is replaced)", ShardConfig().start_timeout_s),
        Figure(f"fleet: re-home {fail['killed']} killed shards", fail["rehomed_s"], "s", "goal", FLEET_GOALS["rehomed_s"]),
        Figure("fleet: cameras lost", fleet["lost"]["not_online"] + fleet["lost"]["unassigned"], "cameras",
               "cameras", fleet["cameras"]),
        Figure("supervisor loop p99 (steady)", loop["p99"] or 0, "s", "heartbeat period", fleet["heartbeat_s"]),
        Figure("supervisor USS", fleet["supervisor"]["memory"]["uss_mib"], "MiB", "one shard's USS",
               fleet["shard_memory"]["uss_mib"]),
        Figure("metrics endpoint scrape", fleet["metrics"]["scrape_s"], "s", "Prometheus default scrape timeout", 10.0),
        Figure("metrics endpoint series", fleet["metrics"]["series"], "series", "cameras", fleet["cameras"]),
        Figure("metrics endpoint size", fleet["metrics"]["bytes"] / 2**20, "MiB", "cameras (thousands)",
               fleet["cameras"] / 1000),
    ]
    return out


def plots(out_dir: Path, detector: dict, profiles: list[dict]) -> list[str]:
    by_stream: dict[str, tuple[list, list]] = {}
    for r in profiles:
        if r["mode"] == "keyframes":
            profile = PROFILES[r["profile"]]
            xs, ys = by_stream.setdefault(f"{profile.resolution} {profile.codec}", ([], []))
            xs.append(profile.gop_s)
            ys.append(r["cameras_per_shard_core"])
    raw = detector["raw_fps"]
    return [str(plot(out_dir / "capacity-profiles.png", "Cameras per shard core, keyframes mode",
                     "keyframe interval (s)", "cameras per shard core", by_stream)),
            str(plot(out_dir / "capacity-detector.png", "Detector frames/s", "batch size", "frames/s",
                     {"raw ONNX Runtime": (list(raw), list(raw.values())),
                      "Serve-batched": (list(raw), [detector["serve_fps"]] * len(raw)),
                      "HTTP": (list(raw), [detector["http_fps"]] * len(raw))}, logx=True))]


def gpu_fps(out_dir: Path) -> float | None:
    """The GPU report's detector figure, when loadtest/gpu_bench.py has written one into the same folder."""
    path = out_dir / "capacity-gpu.json"
    return json.loads(path.read_text()).get("figures", {}).get("gpu_fps") if path.is_file() else None


def run(p: dict, out_dir: Path, quick: bool, fleet: dict | None = None) -> dict:
    started = time.perf_counter()
    token = read_token()
    clip = str(assets.fetch("one-by-one-person-detection"))
    images = [f.image for f, _ in zip(read_frames(Path(clip), fps=1.0), range(32))]
    print("stream profiles (encoded once, then cached) …", flush=True)
    for name in p["profiles"]:
        stream_file(name)
    print("analytics, store …", flush=True)
    analytics = bench_analytics_cost(p["analytics_frames"])
    store = bench_sqlite(p["store_cameras"], p["store_minutes"])
    port = free_port()
    ray.init(num_cpus=os.cpu_count(), namespace="matakota", include_dashboard=False, log_to_driver=False,
             _system_config={"metrics_report_interval_ms": 2000})
    try:
        bootstrap.deploy(parse_config({"api": {"port": port}, "detector": {"max_batch_size": 16}}))
        print("detector …", flush=True)
        detector = bench_detectors(p, images, f"http://127.0.0.1:{port}", token)
        print("stream profiles …", flush=True)
        with tempfile.TemporaryDirectory(prefix="capacity-profiles-") as store_dir:
            profiles = bench_profiles.bench_profiles(p["profiles"], store_dir, sizes=p["profile_sizes"])
    finally:
        bootstrap.shutdown()
    if fleet is None:  # a Ray of its own: the control plane alone, as loadtest/fleet_sim.py runs it
        print(f"fleet of {p['fleet_cameras']:,} synthetic cameras …", flush=True)
        ray.init(namespace="matakota", include_dashboard=False, log_to_driver=False)
        try:
            fleet = fleet_sim.simulate(p["fleet_cameras"], p["fleet_shards"], add_shards=max(1, p["fleet_shards"] // 10),
                                       settle_s=p["fleet_settle_s"], fps=p["fleet_fps"],
                                       heartbeat_s=p["fleet_heartbeat_s"])
        finally:
            ray.shutdown()
    out_dir.mkdir(parents=True, exist_ok=True)
    per_profile = bill.profile_figures(profiles)
    cpu_inference = detector["raw_best_fps"] / os.cpu_count()
    city = bill.city_bill(profiles, cpu_inference, gpu_fps(out_dir))
    return {
        "machine": machine(), "mode": "quick" if quick else "full", "wall_s": time.perf_counter() - started,
        "serve_vs_raw": detector["serve_vs_raw"], "http_vs_raw": detector["http_vs_raw"],
        "detector": detector, "profiles": profiles, "analytics": analytics, "store": store, "fleet": fleet,
        "rows": rows(detector, profiles, analytics, store, fleet),
        "figures": figures_for_sizing(detector, per_profile, analytics), "profile_figures": per_profile,
        "bill": city,
        "sections": [profile_table(profiles), bill.markdown(city, gpu_fps(out_dir))],
        "plots": plots(out_dir, detector, profiles),
    }


def summary(report: dict) -> str:
    lines = [f"{'figure':62} {'value':>12} {'unit':<24} {'ratio':>7}  limit"]
    for row in report["rows"]:
        row = row.to_json() if isinstance(row, Figure) else row
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}"
        lines.append(f"{row['name'][:62]:62} {row['value']:>12,.4g} {row['unit'][:24]:<24} {ratio:>7}  "
                     f"{row['limit']} ({row['limit_value']:,.4g})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the plumbing in about a minute")
    parser.add_argument("--out", type=Path, default=Path("reports"))
    parser.add_argument("--fleet-cameras", type=int, help="override the fleet simulation's camera count")
    parser.add_argument("--fleet-shards", type=int, help="override the fleet simulation's shard count")
    parser.add_argument("--fleet-json", type=Path, help="use this `fleet_sim.py --json` result instead of running it")
    args = parser.parse_args()
    p = dict(QUICK if args.quick else FULL)
    p["fleet_cameras"] = args.fleet_cameras or p["fleet_cameras"]
    p["fleet_shards"] = args.fleet_shards or p["fleet_shards"]
    fleet = json.loads(args.fleet_json.read_text()) if args.fleet_json else None
    report = run(p, args.out, args.quick, fleet)
    json_path, md_path = write_report(args.out, "capacity", "Capacity report", report)
    print(f"machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, GPU: {report['machine']['gpu']}")
    print(summary(report))
    print(f"wall time {report['wall_s']:.0f} s; wrote {json_path}, {md_path}, {', '.join(report['plots'])}")


if __name__ == "__main__":
    main()
