"""Detector throughput: raw ONNX Runtime vs the Serve-batched Detector (handle and HTTP), in one run.

    python -m loadtest.bench_detector [--seconds 4] [--rounds 2] [--producers 8] [--micro-batch 4] [--clients 16]

Every figure is a ratio to the limit measured in the same run, on the same machine:
- the Serve handle (the shards' path: `FrameBatch`es of letterboxed frames) against raw ONNX Runtime at its best
  batch on the same letterboxed frames;
- HTTP `POST /v1/detect` (one JPEG per request) against a raw loop that also starts from those JPEG bytes:
  `cv2.imdecode` in full + letterbox + ONNX Runtime at the best batch, one thread, as one would write it by hand.
  The raw loop with the reduced decode the API uses (libjpeg DCT scaling, `models.frames.jpeg_reduction`) is
  printed beside it, for the reader, not as the limit.
JPEGs are the demo clip's frames (768×432) and the same frames upscaled to 1920×1080, quality 85. The machine may be
shared: the paths are measured in interleaved rounds (each path once per round) and each figure is the median.
Ray runs its workers (the Serve proxy and replicas) at niceness 15; the raw loops and the load generators here run
at the same niceness, so the scheduler favours neither side (at niceness 0 the HTTP clients took the cores from
the server they load, and another job's processes took them from Serve but not from the raw loop).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager, suppress

import cv2
import numpy as np
import psutil
from PIL import Image

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from loadtest import http_load  # noqa: E402
from matakota.core import assets  # noqa: E402
from matakota.models.frames import FrameBatch, jpeg_reduction  # noqa: E402
from matakota.models.yolox import YoloxDetector  # noqa: E402
from matakota.video.media import read_frames  # noqa: E402

RAY_WORKER_NICENESS = int(os.environ.get("RAY_worker_niceness", 15))  # Ray's default for every worker process
FULL_HD = (1920, 1080)
JPEG_QUALITY = 85
REDUCED_FLAGS = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor())
    return f"{model}, {os.cpu_count()} cores"


def clip_frames(count: int = 32) -> list[np.ndarray]:
    clip = assets.fetch("one-by-one-person-detection")
    return [f.image for f, _ in zip(read_frames(clip, fps=1.0), range(count))]


def jpeg(image: np.ndarray, size: tuple[int, int] | None = None) -> bytes:
    if size is not None:
        image = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()


def decode_full(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def decode_reduced(data: bytes) -> np.ndarray:
    """libjpeg decodes straight to 1/2, 1/4 or 1/8 when the model needs no more: the scale the API's decode (Pillow's
    `draft`, serve/images.py) picks too."""
    width, height = Image.open(io.BytesIO(data)).size  # the header only
    flag = REDUCED_FLAGS.get(jpeg_reduction(width, height), cv2.IMREAD_COLOR)
    return cv2.imdecode(np.frombuffer(data, np.uint8), flag)


def rate(step: Callable[[], int], seconds: float) -> float:
    """Frames per second of `step` (which returns the frames it handled), after one warm-up call."""
    step()
    frames, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        frames += step()
    return frames / (time.perf_counter() - started)


def raw_rate(detector: YoloxDetector, batch: FrameBatch, seconds: float) -> float:
    """Raw ONNX Runtime on frames already letterboxed."""
    return rate(lambda: len(detector.detect_batch(batch)), seconds)


def raw_jpeg_rate(detector: YoloxDetector, body: bytes, batch: int, decode: Callable, seconds: float) -> float:
    """Raw ONNX Runtime from JPEG bytes: decode + letterbox + inference, `batch` images per run, one thread."""
    return rate(lambda: len(detector.detect_batch(FrameBatch.from_images([decode(body) for _ in range(batch)]))),
                seconds)


async def serve_rate(handle, batch: FrameBatch, producers: int, seconds: float) -> float:
    """Shard-like producers, each sending `batch` and waiting for the answer, over the Serve handle."""
    await handle.detect.remote(batch)
    deadline = time.perf_counter() + seconds
    counts = [0] * producers

    async def produce(i):
        while time.perf_counter() < deadline:
            await handle.detect.remote(batch)
            counts[i] += len(batch)

    started = time.perf_counter()
    await asyncio.gather(*(produce(i) for i in range(producers)))
    return sum(counts) / (time.perf_counter() - started)


def http_rate(url: str, body: bytes, clients: int, seconds: float, requests: int, token: str | None):
    result = asyncio.run(http_load.run_load(url, requests=requests, seconds=seconds, concurrency=clients,
                                            body=body, token=token))
    failed = {status: n for status, n in result.statuses.items() if status != "200"}
    if failed:
        raise RuntimeError(f"{url}: {failed}")
    return result


def cpu_seconds(include_self: bool = True) -> float:
    """CPU time so far of this process (unless not `include_self`) and every process it started (its local Ray)."""
    me = psutil.Process()
    total = 0.0
    for process in me.children(recursive=True) + ([me] if include_self else []):
        with suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def timed(run: Callable, include_self: bool = True) -> tuple:
    """`run()`'s result, and the CPU and wall seconds it took (CPU: this run's processes, warm-up included)."""
    cpu, wall = cpu_seconds(include_self), time.perf_counter()
    result = run()
    return result, cpu_seconds(include_self) - cpu, time.perf_counter() - wall


@contextmanager
def ray_worker_niceness():
    """This thread, and the threads it starts (ONNX Runtime's), at the niceness Ray gives its workers."""
    thread = threading.get_native_id()  # on Linux niceness is per thread
    before = os.getpriority(os.PRIO_PROCESS, thread)
    os.setpriority(os.PRIO_PROCESS, thread, max(before, RAY_WORKER_NICENESS))
    try:
        yield
    finally:
        with suppress(PermissionError):  # only root may lower it again
            os.setpriority(os.PRIO_PROCESS, thread, before)


def measure(handle, api_url: str, *, seconds: float = 4.0, rounds: int = 2, batches=(1, 2, 4, 8, 16),
            producers: int = 8, micro_batch: int = 4, clients: int = 16, http_requests: int = 10**6,
            token: str | None = None, images: list[np.ndarray] | None = None) -> dict:
    """Every detector figure, against its limit measured in this run; the Serve app must be running
    (`handle`: the Detector's, `api_url`: the API's). The Detector is set to raw ONNX Runtime's best batch."""
    with ray_worker_niceness():
        return _measure(handle, api_url, seconds, rounds, batches, producers, micro_batch, clients, http_requests,
                        token, images or clip_frames())


def _measure(handle, api_url, seconds, rounds, batches, producers, micro_batch, clients, http_requests, token,
             images) -> dict:
    demo_jpeg = jpeg(images[len(images) // 2])
    hd_jpeg = jpeg(images[len(images) // 2], FULL_HD)
    detector = YoloxDetector(assets.fetch("yolox-nano"))  # the Detector's session options (no spinning)
    sizes = {n: FrameBatch.from_images(images[:n]) for n in sorted({*batches, micro_batch})}
    sweeps = [{n: raw_rate(detector, batch, seconds / 2) for n, batch in sizes.items()} for _ in range(rounds)]
    sweep = {n: statistics.median(s[n] for s in sweeps) for n in sizes}
    best_batch = max((n for n in sweep if n in batches), key=sweep.get)
    # The deployment's own reconfigure(), as a new user_config would call it: batches of raw's best size.
    handle.reconfigure.remote({"max_batch_size": best_batch}).result()

    best = FrameBatch.from_images(images[:best_batch])
    micro = FrameBatch.from_images(images[:micro_batch])
    url = f"{api_url}/v1/detect"
    paths = {
        "raw_best": lambda: raw_rate(detector, best, seconds),
        "raw_jpeg": lambda: raw_jpeg_rate(detector, hd_jpeg, best_batch, decode_full, seconds),
        "raw_jpeg_reduced": lambda: raw_jpeg_rate(detector, hd_jpeg, best_batch, decode_reduced, seconds),
        "raw_jpeg_demo": lambda: raw_jpeg_rate(detector, demo_jpeg, best_batch, decode_full, seconds),
        "serve": lambda: asyncio.run(serve_rate(handle, micro, producers, seconds)),
        "http": lambda: http_rate(url, hd_jpeg, clients, seconds, http_requests, token),
        "http_demo": lambda: http_rate(url, demo_jpeg, clients, seconds, http_requests, token),
    }
    runs: dict[str, list] = {name: [] for name in paths}
    cpu_ms: dict[str, list] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, run in paths.items():
            # HTTP: the server's processes only, not this one's load generator
            result, cpu, wall = timed(run, include_self=not name.startswith("http"))
            runs[name].append(result)
            frames = result.requests if isinstance(result, http_load.LoadResult) else result * wall
            cpu_ms[name].append(1000 * cpu / frames)

    fps = {name: statistics.median(r.rate if isinstance(r, http_load.LoadResult) else r for r in results)
           for name, results in runs.items()}
    http_last, http_demo_last = runs["http"][-1], runs["http_demo"][-1]
    return {
        "machine": machine(), "rounds": rounds, "seconds": seconds, "producers": producers,
        "micro_batch": micro_batch, "clients": clients,
        "jpeg": {"demo": {"size": list(images[0].shape[1::-1]), "bytes": len(demo_jpeg)},
                 "hd": {"size": list(FULL_HD), "bytes": len(hd_jpeg), "reduction": jpeg_reduction(*FULL_HD)}},
        "raw_fps": {n: sweep[n] for n in batches}, "raw_best_batch": best_batch, "raw_best_fps": fps["raw_best"],
        "raw_micro_batch_fps": sweep[micro_batch],
        "raw_jpeg_fps": fps["raw_jpeg"], "raw_jpeg_reduced_fps": fps["raw_jpeg_reduced"],
        "raw_jpeg_demo_fps": fps["raw_jpeg_demo"],
        "serve_fps": fps["serve"], "serve_runs": runs["serve"], "raw_best_runs": runs["raw_best"],
        "http": http_last.to_json(), "http_fps": fps["http"], "http_demo": http_demo_last.to_json(),
        "http_demo_fps": fps["http_demo"],
        "serve_vs_raw": fps["serve"] / fps["raw_best"],
        "http_vs_raw": fps["http"] / fps["raw_best"],
        "http_vs_raw_jpeg": fps["http"] / fps["raw_jpeg"],
        "http_demo_vs_raw_jpeg": fps["http_demo"] / fps["raw_jpeg_demo"],
        "cpu_ms_per_frame": {name: statistics.median(values) for name, values in cpu_ms.items()},
        "batches": handle.health.remote().result()["batches"],
    }


def table(figures: dict) -> str:
    """The figures as printed by `main`: frames/s and the ratio to each path's limit."""
    b, hd, demo = figures["raw_best_batch"], figures["jpeg"]["hd"], figures["jpeg"]["demo"]
    hd_name, demo_name = "{}×{} JPEG".format(*hd["size"]), "{}×{} JPEG".format(*demo["size"])
    limit_best, limit_hd, limit_demo = figures["raw_best_fps"], figures["raw_jpeg_fps"], figures["raw_jpeg_demo_fps"]
    cpu = figures["cpu_ms_per_frame"]
    rows = [(f"raw ONNX Runtime, batch {n} (letterboxed frames)", fps, None, "", None)
            for n, fps in figures["raw_fps"].items()]
    rows += [
        (f"raw ONNX Runtime, batch {b} (letterboxed frames) = A", limit_best, "raw_best", "A", limit_best),
        (f"Serve handle, {figures['producers']} producers × {figures['micro_batch']} frames", figures["serve_fps"],
         "serve", "A", limit_best),
        (f"raw: {hd_name} full decode + letterbox + ORT, batch {b} = B", limit_hd, "raw_jpeg", "B", limit_hd),
        (f"raw: same, decoded at 1/{hd['reduction']} by libjpeg (as the API)", figures["raw_jpeg_reduced_fps"],
         "raw_jpeg_reduced", "B", limit_hd),
        (f"HTTP /v1/detect, {figures['clients']} clients × 1 {hd_name}", figures["http_fps"], "http", "B", limit_hd),
        (f"raw: {demo_name} decode + letterbox + ORT, batch {b} = C", limit_demo, "raw_jpeg_demo", "C", limit_demo),
        (f"HTTP /v1/detect, {figures['clients']} clients × 1 {demo_name}", figures["http_demo_fps"], "http_demo", "C",
         limit_demo),
    ]
    limit_cpu = {"A": cpu["raw_best"], "B": cpu["raw_jpeg"], "C": cpu["raw_jpeg_demo"]}
    lines = [f"{'path':62} {'frames/s':>9} {'ratio':>6}  limit {'CPU ms/frame':>12} {'limit/it':>8}"]
    for name, fps, key, limit_name, limit in rows:
        ratio = f"{fps / limit:6.2f}" if limit else ""
        cost = f"{cpu[key]:12.1f} {limit_cpu[limit_name] / cpu[key]:8.2f}" if key else ""
        lines.append(f"{name:62} {fps:9.1f} {ratio:>6}  {limit_name:5} {cost}")
    return "\n".join(lines)


def main() -> None:
    from matakota.cluster import bootstrap
    from matakota.config import parse_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per path and round")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; figures are medians")
    parser.add_argument("--producers", type=int, default=8, help="concurrent shard-like producers")
    parser.add_argument("--micro-batch", type=int, default=4, help="frames per producer request")
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients")
    parser.add_argument("--batches", default="1,2,4,8,16", help="raw ONNX Runtime batch sizes to try")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    bootstrap.start_ray()
    try:
        bootstrap.deploy(parse_config({"api": {"port": 8123}}))
        figures = measure(bootstrap.detector_handle(), "http://127.0.0.1:8123", seconds=args.seconds,
                          rounds=args.rounds, batches=tuple(map(int, args.batches.split(","))),
                          producers=args.producers, micro_batch=args.micro_batch, clients=args.clients)
        provider = bootstrap.detector_handle().health.remote().result()["provider"]
    finally:
        bootstrap.shutdown()
    print(f"machine: {figures['machine']}; ONNX Runtime provider: {provider}; median of {args.rounds} interleaved "
          f"rounds of {args.seconds:g} s per path")
    print(table(figures))
    print("CPU ms/frame: CPU time of this run's processes per frame (HTTP: the server's, not the load generator's); "
          "limit/it: that cost's efficiency against the limit's, which the machine's other work barely moves")
    print(f"Detector batches by size: {figures['batches']}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
