"""Cost per camera per city stream profile: real shards vs raw PyAV on the same RTSP streams, in one run.

    .venv/bin/python -m loadtest.bench_profiles [--profiles 1080p25-h264-gop2,...] [--json profiles.json]

For each profile (loadtest/streams.py: 720p25, 1080p25, 4 MP at 20 fps; H.264, H.265; a keyframe every 1, 2 or
4 s) the RTSP simulator serves the stream, one session per camera, and:
1. **raw PyAV** (the limit): bare loops in a process of their own, one per stream, demuxing every packet and
   decoding only the keyframes (`keyframes`) or every frame (`sampled`) on one decoder thread, measured in source
   frames per CPU-second of that process;
2. **shards**: the real supervisor, shards and Serve Detector on the connected Ray, cameras analysed at 1 fps
   (in `keyframes` mode: every keyframe, so 1 fps or the keyframe rate when lower), measured in source frames
   per CPU-second of the shard processes (decode, conversion, letterbox, detector round trip, analytics: all of
   it); cameras per shard core follow, the ratio to raw is the decode efficiency;
3. **memory per camera**: the shards' USS at half the cameras and at all of them; the slope is what one more
   camera costs (a shard's own process, ~100 MiB of Ray and Python, is the intercept, reported apart);
4. end-to-end latency (frame decoded → detections back) p50/p99 and the analysed rate against its target.
`sampled` runs on the 2 s GOP profiles only: decoding every frame costs the same whatever the GOP.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import tempfile
import threading
import time
from dataclasses import dataclass

import av
import ray

from loadtest.bench_ingest import measure_step, shard_handles, wait_online
from loadtest.rtsp_sim import RtspSimulator
from loadtest.streams import PROFILES, Profile, stream_file
from matakota.cluster import bootstrap
from matakota.config import parse_config

SAMPLED_LOAD_CORES = 0.8  # `sampled` cameras per profile: as many as raw decode fits in this many cores
RAW_STREAMS = 4


@dataclass(frozen=True)
class Sizes:
    keyframe_cameras: int = 16  # per profile in `keyframes` mode (measured at half and all of them)
    max_sampled_cameras: int = 8
    warmup_s: float = 4.0
    measure_s: float = 10.0  # five keyframes of a 2 s GOP


QUICK = Sizes(keyframe_cameras=4, max_sampled_cameras=2, warmup_s=2.0, measure_s=3.0)


# ---------------------------------------------------------------- raw PyAV: the limit
def _raw_loop(url: str, keyframes: bool, stop: threading.Event, counts: list[int]) -> None:
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=10) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        for packet in container.demux(stream):
            if stop.is_set():
                return
            if not packet.size:
                continue
            counts[0] += 1  # a source frame
            if keyframes and not packet.is_keyframe:
                continue
            packet.decode()


def _raw_process(urls: list[str], keyframes: bool, warmup_s: float, measure_s: float, out) -> None:
    stop = threading.Event()
    counts = [[0] for _ in urls]
    threads = [threading.Thread(target=_raw_loop, args=(u, keyframes, stop, c), daemon=True)
               for u, c in zip(urls, counts)]
    for thread in threads:
        thread.start()
    time.sleep(warmup_s)
    before, used = sum(c[0] for c in counts), resource.getrusage(resource.RUSAGE_SELF)
    time.sleep(measure_s)
    after, spent = sum(c[0] for c in counts), resource.getrusage(resource.RUSAGE_SELF)
    stop.set()
    cpu_s = spent.ru_utime + spent.ru_stime - used.ru_utime - used.ru_stime
    out.put({"source_frames": after - before, "cpu_s": cpu_s, "src_fps_per_core": (after - before) / cpu_s})


def raw_rate(urls: list[str], keyframes: bool, warmup_s: float, measure_s: float) -> dict:
    """Source frames per CPU-second of bare PyAV loops, one per URL, in a fresh process."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    child = context.Process(target=_raw_process, args=(urls, keyframes, warmup_s, measure_s, out))
    child.start()
    result = out.get(timeout=warmup_s + measure_s + 60)
    child.join(10)
    return result


# ---------------------------------------------------------------- the shards
def camera(index: int, url: str, mode: str, max_width: int | None = None) -> dict:
    return {"id": f"{mode}-{index:03d}", "site": "bench", "url": url, "decode": {"mode": mode, "max_width": max_width},
            "analytics": {"fps": 1.0}}


def shard_run(base: dict, url: str, mode: str, cameras: int, source_fps: float, max_width: int | None,
              sizes: Sizes) -> list[dict]:
    """Measured at half the cameras and at all of them; the fleet is stopped at the end."""
    half = max(1, cameras // 2)
    cameras_now = [camera(i, url, mode, max_width) for i in range(half)]
    config = parse_config({**base, "fleet": {**base["fleet"], "cameras": cameras_now}})
    supervisor = bootstrap.start_fleet(config, reset=True)
    rows = []
    try:
        for step in sorted({half, cameras}):
            for i in range(len(ray.get(supervisor.cameras.remote())), step):
                ray.get(supervisor.add_camera.remote(camera(i, url, mode, max_width)))
            wait_online(supervisor, step, 60)
            time.sleep(sizes.warmup_s)
            rows.append(measure_step(supervisor, step, source_fps, sizes.measure_s))
        rows[-1]["shards"] = len(shard_handles(supervisor))
    finally:
        bootstrap.stop_fleet()
    return rows


def summarise(profile: Profile, mode: str, raw: dict, rows: list[dict]) -> dict:
    last, first = rows[-1], rows[0]
    # the source frames the shards really took in (a busy simulator may deliver fewer than encoded): every frame
    # is decoded in `sampled` mode; in `keyframes` mode each keyframe stands for a GOP of frames
    source_fps = last["decoded_fps"] * (1 if mode == "sampled" else profile.fps * profile.gop_s)
    per_camera_core = last["shard_cores"] / last["cameras"] * last["source_fps"] / source_fps
    shard_fps_per_core = source_fps / last["shard_cores"]
    target = 1.0 if mode == "sampled" else min(1.0, 1.0 / profile.gop_s)
    uss = {r["cameras"]: r["shard_uss_mib_per_camera"] * r["cameras"] for r in rows}
    slope = (uss[last["cameras"]] - uss[first["cameras"]]) / (last["cameras"] - first["cameras"]) \
        if len(uss) > 1 else 0.0
    if slope <= 0:  # too few cameras to see one more: the whole shard's memory per camera (an upper bound)
        slope = uss[last["cameras"]] / last["cameras"]
    return {
        "profile": profile.name, "mode": mode, "cameras": last["cameras"], "mbps": profile.mbps,
        "analysed_fps_target": target, "analysed_fps": last["fps_analysed_mean"],
        "delivered": source_fps / last["source_fps"],  # of the frames encoded, what the shards took in
        "raw_src_fps_per_core": raw["src_fps_per_core"], "shard_src_fps_per_core": shard_fps_per_core,
        "shard_vs_raw": shard_fps_per_core / raw["src_fps_per_core"],
        "cameras_per_shard_core": 1 / per_camera_core, "raw_cameras_per_core": raw["src_fps_per_core"] / profile.fps,
        "mib_per_camera": slope, "shard_fixed_mib": uss[last["cameras"]] - (slope or 0) * last["cameras"],
        "latency_p50_s": last["latency_p50_s"], "latency_p99_s": last["latency_p99_s"],
    }


def bench_profile(profile: Profile, base: dict, modes: tuple[str, ...], max_width: int | None = None,
                  sizes: Sizes = Sizes()) -> list[dict]:
    out = []
    with RtspSimulator({"cam": stream_file(profile)}) as sim:
        url = sim.url("cam")
        for mode in modes:
            raw = raw_rate([url] * RAW_STREAMS, mode == "keyframes", sizes.warmup_s, sizes.measure_s)
            cameras = sizes.keyframe_cameras if mode == "keyframes" else \
                max(2, min(sizes.max_sampled_cameras, int(SAMPLED_LOAD_CORES * raw["src_fps_per_core"] / profile.fps)))
            row = summarise(profile, mode, raw, shard_run(base, url, mode, cameras, profile.fps, max_width, sizes))
            print(f"  {profile.name:22} {mode:9} {row['cameras']:2} cameras: shard/raw {row['shard_vs_raw']:.2f}, "
                  f"{row['cameras_per_shard_core']:.1f} cameras per shard core, "
                  f"{row['mib_per_camera'] or 0:.1f} MiB per camera, p99 {row['latency_p99_s'] or 0:.2f} s",
                  flush=True)
            out.append(row)
    return out


def bench_profiles(names: list[str], store_dir: str, max_width: int | None = None,
                   sizes: Sizes = Sizes()) -> list[dict]:
    """Every profile, on the connected Ray with the matakota Serve app deployed."""
    base = {"fleet": {"allow_files": True, "shards": {"num_cpus": 0, "cameras_per_shard": 200}},
            "store": {"url": os.path.join(store_dir, "profiles.db")}}
    rows = []
    for name in names:
        profile = PROFILES[name]
        modes = ("keyframes", "sampled") if profile.gop_s == 2 else ("keyframes",)
        rows += bench_profile(profile, base, modes, max_width, sizes)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default=",".join(PROFILES), help="comma-separated names (loadtest/streams.py)")
    parser.add_argument("--max-width", type=int, help="cameras' decode.max_width (default: full size)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()
    bootstrap.start_ray(num_cpus=os.cpu_count())
    try:
        bootstrap.deploy(parse_config({"api": {"port": 8124}}))
        with tempfile.TemporaryDirectory(prefix="bench-profiles-") as store_dir:
            rows = bench_profiles(args.profiles.split(","), store_dir, args.max_width)
    finally:
        bootstrap.shutdown()
    print(json.dumps(rows, indent=1))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(rows, out, indent=2)


if __name__ == "__main__":
    main()
