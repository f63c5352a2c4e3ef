"""CameraShard: a Ray actor that owns a set of cameras, decodes them, and feeds the Detector in micro-batches.

One reader thread per camera keeps only its newest frame. Every tick the shard takes the frames that are due
(each camera at its analysis rate), drops those older than the deadline, and sends the rest as ONE request to
the Detector; at most `max_inflight_batches` requests are in flight (backpressure: while the pipe is full, due
frames wait in their cameras' slots, newest still winning, instead of queueing; one that waits past the deadline is
dropped, counted). Detections come back into each camera's analytics. Frames of cameras that
need no detector (synthetic `detect=0` ones, for scale tests) are analysed at once with no detections.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

import ray

from matakota.actors.camera_runtime import CameraRuntime
from matakota.actors.case_package import CaseSigner, case_record
from matakota.actors.event_sink import flush_async
from matakota.actors.outbox import Outbox
from matakota.actors.plate_reading import PLATE_READING
from matakota.actors.shard_metrics import ShardMetrics
from matakota.analytics.evidence import event_evidence
from matakota.config import CameraConfig, ShardConfig
from matakota.core.detections import PERSON, Detections
from matakota.core.events import Event
from matakota.core.messages import CameraState, CameraStatus, LatestDetections, ShardHeartbeat, StatusChange
from matakota.core.names import APP_NAME, DETECTOR_NAME, EVENT_SINK_NAME, NAMESPACE
from matakota.core.redact import Redactor
from matakota.models.frames import FrameBatch
from matakota.video.sources import release_freed_memory

log = logging.getLogger("matakota.shard")

KEEP_EVENTS = 1000
FLUSH_PERIOD_S = 1.0
RELEASE_MEMORY_PERIOD_S = 60.0  # malloc_trim costs 15–30 CPU-ms in a shard process
OUTBOX_MAX_ITEMS = 20_000  # unacknowledged events, counts, levels kept while the sink is away (oldest dropped beyond)


@ray.remote(max_restarts=0)
class CameraShard:
    def __init__(self, shard_id: str, config: dict, allow_files: bool, detector_app: str = APP_NAME) -> None:
        self.shard_id = shard_id
        self.config = ShardConfig.model_validate(config)
        self.allow_files = allow_files
        self.detector_app = detector_app
        self._detector = None
        self.cameras: dict[str, CameraRuntime] = {}
        self.failed: dict[str, CameraStatus] = {}  # cameras that could not start here, reported as `error`
        self.events: deque[Event] = deque(maxlen=KEEP_EVENTS)  # recent, for operators and tests
        self.inflight = 0
        self.counters = {"batches": 0, "frames_sent": 0, "detector_errors": 0}
        self.started_at = time.time()
        self.metrics = ShardMetrics(shard_id)
        self.signer = CaseSigner(self.config.evidence)
        self.outbox = Outbox(max_items=OUTBOX_MAX_ITEMS, sender=f"{shard_id}-{int(self.started_at)}")
        self._states: dict[str, tuple[CameraState, str]] = {}  # last status sent out per camera: (state, reason)
        self._tasks: list[asyncio.Task] = []

    @property
    def detector(self):
        """The Detector's handle, looked up on first use: a shard whose cameras need no detection runs without Serve."""
        if self._detector is None:
            from ray import serve  # imported on first use: 0.75 s of a shard's 1.4 s start-up on 2 cores

            self._detector = serve.get_deployment_handle(DETECTOR_NAME, app_name=self.detector_app)
        return self._detector

    async def _ensure_loop(self) -> None:
        if not self._tasks:
            loop = asyncio.get_running_loop()
            self._tasks = [loop.create_task(self._run()), loop.create_task(self._flush_forever()),
                           loop.create_task(self._release_memory_forever())]

    # ---- cameras
    async def add_cameras(self, cameras: list[dict], standby: bool = False) -> list[str]:
        """Start a reader for each camera not already here; returns the ids added. In `standby` they decode but
        analyse nothing until `adopt_cameras` (the target of a move, while the source still runs them)."""
        await self._ensure_loop()
        added = []
        for raw in cameras:
            camera = CameraConfig.model_validate(raw)
            if camera.id not in self.cameras and self._start(camera, standby) is not None:
                added.append(camera.id)
        return added

    def _start(self, camera: CameraConfig, standby: bool) -> CameraRuntime | None:
        """Start one camera; one that cannot start is reported `error` with the reason, and the others run on."""
        try:
            runtime = CameraRuntime(camera, self.allow_files, self.shard_id, standby)
        except Exception as error:  # noqa: BLE001 - one camera's config never takes the shard down
            reason = Redactor(camera.url)(f"cannot start: {type(error).__name__}: {error}")
            log.warning("shard %s: camera %s %s", self.shard_id, camera.id, reason)
            self.failed[camera.id] = CameraStatus(camera.id, camera.site, camera.redacted_url, CameraState.ERROR,
                                                  reason=reason, shard=self.shard_id,
                                                  gauge=camera.analytics.gauge is not None, owner=camera.owner,
                                                  location=camera.location_json)
            return None
        self.failed.pop(camera.id, None)
        self.cameras[camera.id] = runtime
        if any(rule.type == "parking" for rule in camera.analytics.rules):
            self.signer.warn_unsigned(camera.id)
        return runtime

    async def remove_cameras(self, camera_ids: list[str], reason: str = "camera removed") -> list[str]:
        """Stop these cameras for good: their open incidents end (saying `reason`) and the counts of the interval
        in progress go out; returns the ids removed."""
        runtimes = await self._stop(camera_ids)
        for runtime in runtimes:
            self._queue(*runtime.close(reason))
            self.metrics.forget(runtime.config.id)
        return [runtime.config.id for runtime in runtimes]

    async def release_cameras(self, camera_ids: list[str]) -> dict:
        """Stop these cameras and hand their analytics over (camera id → `CameraAnalytics`, None in standby):
        a move's source side, once the target runs them in standby."""
        runtimes = await self._stop(camera_ids)
        for runtime in runtimes:
            self.metrics.forget(runtime.config.id)  # its open incidents are the target's now
        return {runtime.config.id: runtime.analytics for runtime in runtimes}

    def adopt_cameras(self, analytics: dict) -> list[str]:
        """Standby cameras take over handed-over analytics (None: fresh ones) and start analysing."""
        adopted = []
        for camera_id, state in analytics.items():
            runtime = self.cameras.get(camera_id)
            if runtime is not None:
                runtime.adopt(state)
                self.metrics.observe_events(runtime.analytics.events)  # its open incidents are ours now
                adopted.append(camera_id)
        return adopted

    async def replace_camera(self, camera: dict) -> None:
        """A camera's config changed: restart its reader. Its analytics go on if its site and analytics section
        are unchanged; otherwise its open incidents end ("camera reconfigured") and fresh analytics start."""
        config = CameraConfig.model_validate(camera)
        stopped = await self._stop([config.id])
        runtime = self._start(config, standby=True)
        kept = None
        for old in stopped:
            if old.analytics is not None and runtime is not None and runtime.can_keep(old.analytics):
                kept = old.analytics
            else:
                self._queue(*old.close("camera reconfigured"))
                self.metrics.forget(config.id)
        self.adopt_cameras({config.id: kept})

    async def _stop(self, camera_ids: list[str]) -> list[CameraRuntime]:
        """Stop these cameras' readers (in parallel, joined) and forget them here."""
        for camera_id in camera_ids:
            self.failed.pop(camera_id, None)
        runtimes = [self.cameras.pop(camera_id) for camera_id in camera_ids if camera_id in self.cameras]
        await asyncio.to_thread(CameraRuntime.stop_all, runtimes)
        for runtime in runtimes:
            self._states.pop(runtime.config.id, None)
            self.outbox.put(events=runtime.take_clips())  # its reader cut the pending ones as it stopped
        return runtimes

    def _queue(self, events: list[Event], counts) -> None:
        self.metrics.observe_events(events)
        self.events.extend(events)
        self.outbox.put(events=[event.to_json() for event in events], counts=[c.to_json() for c in counts])

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
        full = self.inflight >= self.config.max_inflight_batches  # backpressure: due frames wait in their slots
        ready = []
        for runtime in self.cameras.values():
            if full and runtime.detect:
                runtime.hold(now)
            elif (frame := runtime.take_due(now, self.config.frame_deadline_s)) is not None:
                ready.append((runtime, frame))
        undetected = [(runtime, frame) for runtime, frame in ready if not runtime.detect]
        if undetected:
            self._analyse(undetected, [Detections.empty()] * len(undetected), now)
            ready = [(runtime, frame) for runtime, frame in ready if runtime.detect]
        if not ready:
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
        self._analyse(ready, results, time.time())

    def _analyse(self, ready, results, done: float) -> None:
        for (runtime, frame), detections in zip(ready, results):
            if self.cameras.get(runtime.config.id) is not runtime:
                continue  # stopped (removed, moved, changed) while its frame was at the Detector
            result = runtime.analyse(frame, detections, done)
            self.metrics.observe_latency(done - frame.received_at)
            self.metrics.observe_events(result.events)
            if result.gauge is not None and result.gauge.level_cm is not None:
                self.metrics.observe_water_level(runtime.config.id, runtime.config.site, result.gauge.level_cm)
            self.events.extend(result.events)
            people = result.detections.xyxy[result.detections.class_id == PERSON] if result.events else ()
            records = [with_evidence(e, frame.image, people) for e in result.events]
            for record, event in zip(records, result.events):
                if event.id in result.cases:
                    record["case"] = case_record(event, result.cases[event.id], frame.image, runtime.config,
                                                 self.signer, people, run=runtime.analytics.part)
                    record["payload"]["evidence"] = f"/v1/events/{event.id}/evidence.zip"
            self.outbox.put(events=records,
                            counts=[c.to_json() for c in result.counts],
                            levels=[] if result.gauge is None else [level_record(runtime.config, result.gauge)])

    # ---- counts and events out, at least once
    async def _flush_forever(self) -> None:
        sink = None  # looked up once (a lookup costs a GCS round trip) and again after a failure
        while True:
            await asyncio.sleep(FLUSH_PERIOD_S)
            for runtime in list(self.cameras.values()):
                if clips := runtime.take_clips():
                    self.outbox.put(events=clips)
            try:
                sink = sink or ray.get_actor(EVENT_SINK_NAME, namespace=NAMESPACE)
            except ValueError:
                continue  # no sink (yet): records wait in the bounded outbox
            try:
                sent = await flush_async(self.outbox, sink)
                await self._send_status_changes(sink)
            except Exception:  # noqa: BLE001 - the sink may be restarting; the outbox keeps everything
                log.exception("shard %s: flush failed", self.shard_id)
                sink = None
            else:
                if not sent and self.outbox.pending:
                    sink = None  # nothing acknowledged: look it up again (a sink started anew is another actor)

    async def _release_memory_forever(self) -> None:
        """What the cameras' threads freed (opening and probing streams, decoding) goes back to the system."""
        while True:
            await asyncio.sleep(RELEASE_MEMORY_PERIOD_S)
            await asyncio.to_thread(release_freed_memory)

    async def _send_status_changes(self, sink) -> None:
        """Every camera whose (state, reason) changed since the last flush, in one call (kept if it fails)."""
        now = time.time()
        changed = []
        for runtime in list(self.cameras.values()):
            stats = runtime.reader.stats()
            if self._states.get(runtime.config.id) != (stats.state, stats.reason):
                changed.append(StatusChange(runtime.config.id, runtime.config.site, stats.state, stats.reason,
                                            self.shard_id, now))
        if changed:
            await sink.statuses.remote(changed)
            self._states.update({change.camera: (change.state, change.reason) for change in changed
                                 if change.camera in self.cameras})  # not one removed meanwhile

    # ---- what the supervisor and the API read
    def heartbeat(self) -> ShardHeartbeat:
        """Liveness and every camera's status in one message (the supervisor polls it); exports metrics."""
        cameras = (*(runtime.status() for runtime in self.cameras.values()), *self.failed.values())
        outbox = self.outbox.stats()
        self.metrics.export(cameras, self.inflight, outbox)
        self.metrics.export_plates(*PLATE_READING.totals())
        self.metrics.export_unsigned(self.signer.unsigned)
        return ShardHeartbeat(self.shard_id, ray.get_runtime_context().get_node_id(), time.time(), self.inflight,
                              outbox=outbox, cameras=cameras, **self.counters)

    def latest_detections(self, camera_id: str) -> LatestDetections | None:
        runtime = self.cameras.get(camera_id)
        return runtime.latest() if runtime else None

    async def frame_jpeg(self, camera_id: str, overlay: bool = True, width: int | None = None, blur: bool = True,
                         after: float | None = None) -> tuple[float, bytes] | None:
        """The camera's newest analysed frame as JPEG (`CameraRuntime.frame_jpeg`), rendered off the tick loop."""
        runtime = self.cameras.get(camera_id)
        if runtime is None:
            return None
        return await asyncio.to_thread(runtime.frame_jpeg, overlay, width, blur, after)

    def recent_events(self, limit: int = 100) -> list[dict]:
        return [event.to_json() for event in list(self.events)[-limit:]]

    def analytics_summary(self, camera_id: str) -> dict | None:
        runtime = self.cameras.get(camera_id)
        return runtime.analytics.summary() if runtime and runtime.analytics else None

    def reader_threads(self) -> int:
        """Live camera reader threads in this process (for leak checks)."""
        import threading

        return sum(t.name.startswith("camera-") for t in threading.enumerate())

    async def stop(self) -> None:
        """Stop every reader and hand what is left in the outbox to the sink (best effort)."""
        await self.remove_cameras(list(self.cameras), reason="fleet stopped")
        try:
            await flush_async(self.outbox, ray.get_actor(EVENT_SINK_NAME, namespace=NAMESPACE), timeout_s=10)
        except ValueError:
            pass


def level_record(camera: CameraConfig, reading) -> dict:
    """A gauge reading (`GaugeReading`) as the store keeps it: camera, site, t, level_cm, confidence, status."""
    return {"camera": camera.id, "site": camera.site, **reading.to_json()}


def with_evidence(event: Event, frame, people=()) -> dict:
    """The event as JSON; events with a box carry the evidence JPEGs (the sink stores them as files): people
    pixelated, and the unblurred originals when there were people to blur (analytics/evidence.py)."""
    record = event.to_json()
    if event.box is not None:
        try:
            record["snapshot_jpeg"], record["crop_jpeg"], originals = event_evidence(frame, event, people=people)
        except ValueError:  # a box outside the frame: the event still counts, without evidence
            return record
        if originals is not None:
            record["snapshot_original_jpeg"], record["crop_original_jpeg"] = originals
    return record
