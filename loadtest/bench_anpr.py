"""Plate reading (ANPR) and evidence package cost, and what it takes of a shard's CPU at a realistic violation rate.

    .venv/bin/python -m loadtest.bench_anpr [--reads 60] [--violations-per-hour 1]

Reads plates of parked cars rendered into real frames of the car clip (tests/analytics/plate_scenes.py) with the real
OCR (models/plate_ocr.py, one ONNX Runtime thread: one core) and builds their evidence packages; prints reads per
second per core, CPU ms per read and per package, and the share of a shard's CPU at N violations per camera per hour
(each violation: `plate_reads` reads + one package), against the shard's reserved CPUs and against its cameras'
estimated decode + analysis cost (actors/placement.py).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from matakota.actors.placement import estimated_cost
from matakota.analytics.case_evidence import CaseFacts, arrival_photo, build_package, case_files
from matakota.config import CameraConfig, ShardConfig
from matakota.config.analytics import ParkingRule
from matakota.core import assets
from matakota.models.plate_ocr import PlateOcr
from tests.analytics.plate_scenes import plate_scene


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=60, help="plate reads to time")
    parser.add_argument("--violations-per-hour", type=float, default=1.0, help="per camera")
    args = parser.parse_args()

    clip = assets.fetch("car-detection")
    scenes = [plate_scene(clip, 5000 + n, views=1) for n in range(min(args.reads, 20))]
    ocr = PlateOcr(threads=1)
    ocr.read(scenes[0].frames[0], scenes[0].box)  # warm-up: the first run allocates
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for n in range(args.reads):
        scene = scenes[n % len(scenes)]
        ocr.read(scene.frames[0], scene.box)
    read_cpu = (time.process_time() - cpu0) / args.reads
    read_wall = (time.perf_counter() - wall0) / args.reads

    facts = CaseFacts("e", "i", "cam-1", "simpang-lima", {"lat": -6.99, "lon": 110.42}, "bahu-jalan", "car",
                      "H 1234 AB", 0.9, 0.0, 300.0, {"limit_s": 300})
    plate = np.zeros((24, 70, 3), np.uint8)
    packages = 20
    cpu0 = time.process_time()
    for n in range(packages):
        scene = scenes[n % len(scenes)]
        arrival = arrival_photo(scene.frames[0])  # taken when the car stopped (counted here: once per case)
        build_package(facts, case_files(facts, scene.frames[0], scene.box, 300.0, arrival, scene.box, 0.0, plate),
                      b"k" * 32, "bench")
    package_cpu = (time.process_time() - cpu0) / packages

    rule, shard = ParkingRule(zone="bahu-jalan"), ShardConfig()
    camera = CameraConfig.model_validate({"id": "c", "url": "rtsp://cam/stream"})
    per_violation = rule.plate_reads * read_cpu + package_cpu
    per_camera = args.violations_per_hour * per_violation / 3600  # CPU seconds per second
    per_shard = per_camera * shard.cameras_per_shard
    cameras_cost = estimated_cost(camera) * shard.cameras_per_shard
    print(f"plate OCR: {1 / read_cpu:.1f} reads/s per core ({read_cpu * 1000:.0f} ms CPU, "
          f"{read_wall * 1000:.0f} ms wall per read, {args.reads} reads)")
    print(f"evidence package (2 captioned photos, crops, manifest, HMAC): {package_cpu * 1000:.0f} ms CPU")
    print(f"one violation ({rule.plate_reads} reads + package): {per_violation * 1000:.0f} ms CPU")
    print(f"at {args.violations_per_hour:g} violation/camera/hour, a shard of {shard.cameras_per_shard} cameras: "
          f"{per_shard * 1000:.2f} ms CPU per second = {per_shard / shard.num_cpus:.3%} of its {shard.num_cpus:g} "
          f"reserved CPU, {per_shard / cameras_cost:.3%} of its cameras' estimated decode + analysis "
          f"({cameras_cost:.2f} CPU)")


if __name__ == "__main__":
    main()
