"""Detector throughput: raw ONNX Runtime vs the Serve-batched Detector (handle and HTTP), in one run.

    python -m loadtest.bench_detector [--seconds 8] [--producers 8] [--micro-batch 4]

Every figure is printed as a ratio to raw ONNX Runtime's best batch, measured on this machine in this run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time

import cv2
import httpx

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from matakota.cluster import bootstrap
from matakota.config import parse_config  # noqa: E402
from matakota.core import assets  # noqa: E402
from matakota.models.frames import FrameBatch  # noqa: E402
from matakota.models.yolox import YoloxDetector  # noqa: E402
from matakota.video.media import read_frames  # noqa: E402


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    return f"{model}, {os.cpu_count()} cores"


def raw_rate(detector: YoloxDetector, batch: FrameBatch, seconds: float) -> float:
    detector.detect_batch(batch)  # warm-up
    frames, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        detector.detect_batch(batch)
        frames += len(batch)
    return frames / (time.perf_counter() - started)


async def serve_rate(handle, batch: FrameBatch, producers: int, seconds: float) -> float:
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


async def http_rate(url: str, body: bytes, clients: int, seconds: float) -> float:
    deadline, count = time.perf_counter() + seconds, [0]
    async with httpx.AsyncClient(timeout=60) as client:
        async def call():
            while time.perf_counter() < deadline:
                response = await client.post(url, content=body, headers={"Content-Type": "image/jpeg"})
                response.raise_for_status()
                count[0] += 1
        started = time.perf_counter()
        await asyncio.gather(*(call() for _ in range(clients)))
    return count[0] / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--producers", type=int, default=8, help="concurrent shard-like producers")
    parser.add_argument("--micro-batch", type=int, default=4, help="frames per producer request")
    parser.add_argument("--batches", default="1,2,4,8,16", help="raw ONNX Runtime batch sizes to try")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    clip = assets.fetch("one-by-one-person-detection")
    images = [f.image for f, _ in zip(read_frames(clip, fps=1.0), range(32))]
    detector = YoloxDetector(assets.fetch("yolox-nano"))
    raw = {n: raw_rate(detector, FrameBatch.from_images(images[:n]), args.seconds / 2) for n in map(int, args.batches.split(","))}
    best_batch = max(raw, key=raw.get)
    best = raw[best_batch]
    del detector

    config = parse_config({"api": {"port": 8123}, "detector": {"max_batch_size": max(best_batch, args.micro_batch)}})
    bootstrap.start_ray()
    bootstrap.deploy(config)
    handle = bootstrap.detector_handle()
    micro = FrameBatch.from_images(images[: args.micro_batch])
    served = asyncio.run(serve_rate(handle, micro, args.producers, args.seconds))
    body = cv2.imencode(".jpg", images[0])[1].tobytes()
    over_http = asyncio.run(http_rate("http://127.0.0.1:8123/v1/detect", body, args.producers * 2, args.seconds))
    health = handle.health.remote().result()
    bootstrap.shutdown()

    rows = [(f"raw ONNX Runtime, batch {n}", fps) for n, fps in raw.items()]
    rows += [(f"Serve handle, {args.producers} producers × {args.micro_batch} frames", served),
             (f"HTTP /v1/detect, {args.producers * 2} clients × 1 JPEG", over_http)]
    print(f"machine: {machine()}; ONNX Runtime provider: {health['provider']}")
    print(f"{'path':52} {'frames/s':>9} {'vs raw best':>12}")
    for name, fps in rows:
        print(f"{name:52} {fps:9.1f} {fps / best:12.2f}")
    print(f"serve batches by size: {health['batches']}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"machine": machine(), "raw": raw, "raw_best_batch": best_batch, "serve": served,
                       "http": over_http, "serve_vs_raw": served / best, "http_vs_raw": over_http / best}, out, indent=2)


if __name__ == "__main__":
    main()
