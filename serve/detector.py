"""The Detector deployment: one ONNX Runtime session per replica, batching frames from many cameras.

Each request carries a micro-batch (`FrameBatch`, all ready frames of one shard tick, or one uploaded image);
`@serve.batch` merges concurrent requests into one inference, counting frames rather than requests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter

import numpy as np
from ray import serve

from matakota.config import DetectorConfig
from matakota.core.detections import Detections
from matakota.core.metrics import metric
from matakota.core.names import DETECTOR_NAME
from matakota.models.frames import FrameBatch
from matakota.models.yolox import YoloxDetector

log = logging.getLogger("matakota.detector")
CONCURRENT_BATCHES = 2  # one inference runs while the next batch is assembled, or both run


def intra_op_threads(config: DetectorConfig) -> int:
    """ONNX Runtime threads per inference: as configured, or (0) the replica's cores shared by the batches that run
    at once. On 2 cores, two single-threaded runs took 27 CPU-ms per frame, runs of two threads each 30–35: their
    parallel sections stall whenever Serve's own threads take a core (loadtest/bench_detector.py)."""
    return config.intra_op_threads or max(1, len(os.sched_getaffinity(0)) // CONCURRENT_BATCHES)


def _frames_in(batches: list[FrameBatch]) -> int:
    return sum(len(b) for b in batches)


class DetectorMetrics:
    """What SREs and tests read: batch sizes, inference latency, frames, provider in use."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.report_provider()
        self.batch_sizes: Counter[int] = Counter()  # local copy, reported by health()

    def report_provider(self) -> None:
        """Set again periodically: Ray's exporter drops a gauge that is not recorded for a while."""
        metric("matakota_detector_provider_info").set(1, tags={"provider": self.provider})

    def observe(self, frames: int, seconds: float) -> None:
        metric("matakota_detector_batch_frames").observe(frames)
        metric("matakota_detector_inference_seconds").observe(seconds)
        metric("matakota_detector_frames_total").inc(frames)
        self.batch_sizes[frames] += 1


@serve.deployment(name=DETECTOR_NAME, health_check_period_s=10, health_check_timeout_s=30)
class Detector:
    def __init__(self, config: dict) -> None:
        self.config = DetectorConfig.model_validate(config)
        threads = intra_op_threads(self.config)
        self.model = YoloxDetector.from_config(self.config.model_copy(update={"intra_op_threads": threads}))
        self.metrics = DetectorMetrics(self.model.provider)
        log.info("Detector ready: %s on %s", self.model.model_name, self.model.provider)

    def reconfigure(self, user_config: dict) -> None:
        """Batch size and wait, tunable at run time through the deployment's `user_config`."""
        self.max_batch_size = int(user_config.get("max_batch_size", self.config.max_batch_size))
        self._detect_merged.set_max_batch_size(self.max_batch_size)
        self._detect_merged.set_batch_wait_timeout_s(
            float(user_config.get("batch_wait_timeout_s", self.config.batch_wait_timeout_s))
        )

    async def detect(self, batch: FrameBatch) -> list[Detections]:
        """Detections for every frame of `batch`, in order. Micro-batches above the batch size are split."""
        size = getattr(self, "max_batch_size", self.config.max_batch_size)
        chunks = [
            FrameBatch(batch.frames[i : i + size], batch.ratios[i : i + size], batch.sizes[i : i + size])
            for i in range(0, len(batch), size)
        ]
        results = await asyncio.gather(*(self._detect_merged(chunk) for chunk in chunks))
        return [detections for chunk in results for detections in chunk]

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.01, max_concurrent_batches=CONCURRENT_BATCHES,
                 batch_size_fn=_frames_in)
    async def _detect_merged(self, requests: list[FrameBatch]) -> list[list[Detections]]:
        merged = FrameBatch.concat(requests) if len(requests) > 1 else requests[0]  # one request: no copy
        started = time.perf_counter()
        # Off the event loop: ORT releases the GIL, so a second batch can be assembled meanwhile.
        detections = await asyncio.to_thread(self.model.detect_batch, merged)
        self.metrics.observe(len(merged), time.perf_counter() - started)
        bounds = np.cumsum([0] + [len(r) for r in requests])
        return [detections[start:end] for start, end in zip(bounds[:-1], bounds[1:])]

    def health(self) -> dict:
        return {
            "model": self.model.model_name,
            "provider": self.model.provider,
            "classes": self.model.classes.tolist(),
            "batches": dict(sorted(self.metrics.batch_sizes.items())),
        }

    def check_health(self) -> None:
        probe = FrameBatch.from_images([np.zeros((32, 32, 3), np.uint8)])
        self.model.detect_batch(probe)  # raises if the session is broken
        self.metrics.report_provider()
