"""CameraShard: a Ray actor that owns a set of cameras, decodes them, and feeds the Detector in micro-batches.

One reader thread per camera keeps only its newest frame. Every tick the shard takes the frames that are due
(each camera at its analysis rate), drops those older than the deadline, and sends the rest as ONE request to
the Detector; at most `max_inflight_batches` requests are in flight (backpressure: a full pipe drops frames,
counted, instead of queueing them). Detections come back into each camera's analytics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

import ray
from ray import serve

from matakota.actors.camera import CameraRuntime
from matakota.actors.shard_metrics import ShardMetrics
from matakota.analytics.events import Event
from matakota.cluster.config import CameraConfig, ShardConfig
from matakota.models.yolox import FrameBatch

log = logging.getLogger("matakota.shard")

NAMESPACE = "matakota"
KEEP_EVENTS = 1000


def shard_name(index: int) -> str:
    return f"shard-{index}"


@ray.remote(max_restarts=0)
class CameraShard:
    def __init__(self, shard_id: str, config: dict, allow_files: bool, detector_app: str = "matakota") -> None:
        self.shard_id = shard_id
        self.config = ShardConfig.model_validate(config)
        self.allow_files = allow_files
        self.detector = serve.get_deployment_handle("Detector", app_name=detector_app)
        self.cameras: dict[str, CameraRuntime] = {}
        self.events: deque[Event] = deque(maxlen=KEEP_EVENTS)
        self.counts: deque = deque(maxlen=KEEP_EVENTS)  # counts of removed cameras, until the store takes them
        self.inflight = 0
        self.counters = {"batches": 0, "frames_sent": 0, "detector_errors": 0}
        self.started_at = time.time()
        self.metrics = ShardMetrics(shard_id)
        self._loop_task = None

    async def _ensure_loop(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.get_running_loop().create_task(self._run())

    # ---- cameras
    async def add_cameras(self, cameras: list[dict]) -> list[str]:
        """Start a reader for each camera not already here; returns the ids added."""
        await self._ensure_loop()
        added = []
        for raw in cameras:
            camera = CameraConfig.model_validate(raw)
            if camera.id not in self.cameras:
                self.cameras[camera.id] = CameraRuntime(camera, self.allow_files)
                added.append(camera.id)
        return added

    async def remove_cameras(self, camera_ids: list[str]) -> list[str]:
        """Stop these cameras' readers (in parallel, joined) and forget them; returns the ids removed."""
        runtimes = [self.cameras.pop(camera_id) for camera_id in camera_ids if camera_id in self.cameras]
        await asyncio.to_thread(CameraRuntime.stop_all, runtimes)
        for runtime in runtimes:
            self.counts.extend(runtime.close())
            self.metrics.forget(runtime.config.id)
        return [runtime.config.id for runtime in runtimes]

    # ---- the tick loop
    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - the loop must outlive any one bad tick
                log.exception("shard %s: tick failed", self.shard_id)
            spent = time.monotonic() - started
            self.metrics.observe_tick(spent)
            await asyncio.sleep(max(0.0, self.config.tick_s - spent))

    def _tick(self) -> None:
        now = time.time()
        ready = [(runtime, frame) for runtime in self.cameras.values()
                 if (frame := runtime.take_due(now, self.config.frame_deadline_s)) is not None]
        if not ready:
            return
        if self.inflight >= self.config.max_inflight_batches:
            for runtime, _ in ready:
                runtime.count("backpressure_drops")
            return
        batch = FrameBatch.from_images([frame.image for _, frame in ready])
        self.inflight += 1
        asyncio.get_running_loop().create_task(self._detect(ready, batch))

    async def _detect(self, ready, batch: FrameBatch) -> None:
        try:
            results = await self.detector.detect.remote(batch)
        except Exception as error:  # noqa: BLE001 - detector overloaded or restarting: count, go on
            self.counters["detector_errors"] += 1
            log.warning("shard %s: detector request failed: %s", self.shard_id, type(error).__name__)
            for runtime, _ in ready:
                runtime.count("detector_errors")
            return
        finally:
            self.inflight -= 1
        self.counters["batches"] += 1
        self.counters["frames_sent"] += len(batch)
        done = time.time()
        for (runtime, frame), detections in zip(ready, results):
            result = runtime.analyse(frame, detections, done)
            self.metrics.observe_latency(done - frame.received_at)
            self.metrics.observe_events(result.events)
            if result.gauge is not None and result.gauge.level_cm is not None:
                self.metrics.observe_water_level(runtime.config.id, runtime.config.site, result.gauge.level_cm)
            self.events.extend(result.events)

    # ---- what the supervisor and the API read
    def heartbeat(self) -> dict:
        """Liveness and per-camera stats in one small message (the supervisor polls it); exports metrics."""
        cameras = [runtime.stats() for runtime in self.cameras.values()]
        self.metrics.export(cameras, self.inflight)
        return {
            "shard": self.shard_id,
            "node": ray.get_runtime_context().get_node_id(),
            "time": time.time(),
            "inflight": self.inflight,
            **self.counters,
            "cameras": cameras,
        }

    def latest_detections(self, camera_id: str) -> dict | None:
        runtime = self.cameras.get(camera_id)
        return runtime.latest() if runtime else None

    def recent_events(self, limit: int = 100) -> list[dict]:
        return [event.to_json() for event in list(self.events)[-limit:]]

    def analytics_summary(self, camera_id: str) -> dict | None:
        runtime = self.cameras.get(camera_id)
        return runtime.analytics.summary() if runtime else None

    def reader_threads(self) -> int:
        """Live camera reader threads in this process (for leak checks)."""
        import threading

        return sum(t.name.startswith("camera-") for t in threading.enumerate())

    async def stop(self) -> None:
        await self.remove_cameras(list(self.cameras))
