"""Analytics cost per analysed frame per camera (tracker, zones, lines, rules), and one gauge read.

    .venv/bin/python -m loadtest.bench_analytics [--frames 600]

Prints µs per `CameraAnalytics.update` (median, p99) at 0, 10 and 50 detections per frame, for a camera
with 2 zones, 2 lines, crowding, intrusion and parking rules; people walk, cars stand still.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from matakota.analytics.camera import CameraAnalytics
from matakota.analytics.gauge import read_gauge
from matakota.config.analytics import CameraAnalyticsConfig
from matakota.core.detections import Detections

CONFIG = {
    "fps": 2.0,
    "frame_size": [1280, 720],
    "zones": [
        {"name": "plaza", "units": "norm", "polygon": [[0.05, 0.3], [0.6, 0.3], [0.7, 0.95], [0.0, 0.95]]},
        {"name": "kerb", "kind": "no_parking", "units": "norm", "classes": [2, 3, 5, 7],
         "polygon": [[0.6, 0.5], [1.0, 0.5], [1.0, 1.0], [0.6, 1.0]]},
    ],
    "lines": [
        {"name": "north", "units": "norm", "start": [0.0, 0.4], "end": [1.0, 0.4]},
        {"name": "east", "units": "norm", "start": [0.5, 0.0], "end": [0.5, 1.0]},
    ],
    "rules": [
        {"type": "crowding", "zone": "plaza", "max_occupancy": 30},
        {"type": "intrusion", "zone": "kerb", "hours": "22:00-05:00"},
        {"type": "parking", "zone": "kerb", "max_stationary_s": 60},
    ],
}


def scene(n: int, frames: int, fps: float, seed: int = 0) -> list[Detections]:
    """n objects: 80% people walking at ~1.2 m/s (~60 px/s), 20% parked cars; jittered boxes."""
    rng = np.random.default_rng(seed)
    cars = n // 5
    start = rng.uniform([0, 250], [1200, 700], (n, 2))
    velocity = rng.normal(0, 60, (n, 2))
    velocity[:cars] = 0
    size = np.where(np.arange(n)[:, None] < cars, [[120, 70]], [[40, 110]])
    classes = np.where(np.arange(n) < cars, 2, 0)
    out = []
    for i in range(frames):
        feet = start + velocity * i / fps + rng.normal(0, 2, (n, 2))
        xyxy = np.column_stack([feet[:, 0] - size[:, 0] / 2, feet[:, 1] - size[:, 1],
                                feet[:, 0] + size[:, 0] / 2, feet[:, 1]])
        out.append(Detections(xyxy, rng.uniform(0.3, 0.95, n), classes))
    return out


def bench_updates(n: int, frames: int) -> np.ndarray:
    config = CameraAnalyticsConfig.model_validate(CONFIG)
    camera = CameraAnalytics("bench", "bench-site", config)
    detections = scene(n, frames, config.fps)
    cost = np.empty(frames)
    t0 = 1_772_000_000.0
    for i, d in enumerate(detections):
        start = time.perf_counter_ns()
        camera.update(d, t0 + i / config.fps)
        cost[i] = (time.perf_counter_ns() - start) / 1e3
    return cost[frames // 10:]  # skip warm-up (tracks confirming)


def bench_gauge(reads: int = 50) -> np.ndarray:
    frame = np.random.default_rng(0).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    calibration = [(100, 300.0), (600, 0.0)]
    cost = np.empty(reads)
    for i in range(reads):
        start = time.perf_counter_ns()
        read_gauge(frame, (1100, 100, 1180, 600), calibration, float(i))
        cost[i] = (time.perf_counter_ns() - start) / 1e3
    return cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600, help="analysed frames per detection count")
    args = parser.parse_args()
    print("analytics cost per analysed frame per camera (2 zones, 2 lines, 3 rules)")
    print(f"{'detections':>10} {'median µs':>10} {'p99 µs':>10}")
    for n in (0, 10, 50):
        cost = bench_updates(n, args.frames)
        print(f"{n:>10} {np.median(cost):>10.0f} {np.percentile(cost, 99):>10.0f}")
    cost = bench_gauge()
    print(f"gauge read (80x500 px region): median {np.median(cost):.0f} µs, p99 {np.percentile(cost, 99):.0f} µs")


if __name__ == "__main__":
    main()
