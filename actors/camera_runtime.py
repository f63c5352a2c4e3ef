"""One camera inside a shard: its reader, its analysis schedule, its analytics and its status.

The analytics (tracker, open visits and incidents, the count interval in progress) can outlive the runtime: a
camera that moves to another shard hands them over (`release` here, `adopt` there), so a move neither loses nor
doubles a visit or an event. A runtime started in standby decodes but analyses nothing until it adopts them.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict, deque

from matakota.actors.plate_reading import PLATE_WORKER
from matakota.analytics.camera import CameraAnalytics, FrameResult
from matakota.analytics.counts import CountRecord
from matakota.analytics.overlay import render_frame
from matakota.config import CameraConfig
from matakota.core.detections import Detections
from matakota.core.events import Event, EventState
from matakota.core.messages import CameraStatus, Detection, LatestDetections
from matakota.core.settings import settings
from matakota.core.stats import RateMeter, percentiles
from matakota.video import credentials, open_reader
from matakota.video.clips import MAX_PENDING
from matakota.video.decode import VideoFrame

LATENCY_SAMPLES = 256


def runnable(camera: dict, allow_files: bool) -> CameraConfig:
    """The camera's config if a shard can run it: its source allowed, its credentials (if any) allowed to go to
    its host where this process can see them (the shard checks again at connect time), its analytics able to
    start. ValueError or SourceAuthError say why not."""
    config = CameraConfig.model_validate(camera)
    config.source(allow_files)
    CameraAnalytics(config.id, config.site, config.analytics)
    if settings().credentials_dir.is_dir():
        credentials.check_destination(config.url)
    return config


class CameraRuntime:
    def __init__(self, config: CameraConfig, allow_files: bool, shard: str, standby: bool = False) -> None:
        self.config = config
        self.shard = shard
        # the analytics first: a camera whose analytics cannot start leaves no reader thread behind
        self.analytics: CameraAnalytics | None = None if standby else self._new_analytics()
        self.reader = open_reader(config.id, config.source(allow_files), config.decoding(), config.clip_packets_s)
        self.detect = self.reader.source.detect  # parsed once: the tick loop asks for every frame
        self.period = 1.0 / config.analytics.fps
        self.next_due = 0.0
        self._held = False  # a frame was due while the Detector pipe was full: it waits in the reader's slot
        self.counters = dict.fromkeys(
            ("frames_analysed", "detections", "late_drops", "backpressure_drops", "detector_errors"), 0
        )
        self.latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self.analysed_rate = RateMeter()
        self._last: tuple[VideoFrame, Detections] | None = None  # the newest analysed frame, for `latest()`
        self._occupancy: dict[str, int] = {}
        self._awaiting_clips: OrderedDict[str, dict] = OrderedDict()  # event id → the event, until its clip is cut
        reads_plates = any(getattr(rule, "plate_reads", 0) for rule in config.analytics.rules)
        self.plates = PLATE_WORKER if reads_plates else None  # OCR only where a parking rule reads plates
        if self.plates is not None:
            self.plates.start()  # the engine loads on the reader's thread now, not at the first read

    def _new_analytics(self) -> CameraAnalytics:
        """Fresh analytics; `part` names this run in its count records (parts of a minute add up in the store)."""
        return CameraAnalytics(self.config.id, self.config.site, self.config.analytics, part=uuid.uuid4().hex[:12])

    def can_keep(self, analytics: CameraAnalytics) -> bool:
        """Whether analytics made for another config of this camera still fit this one (same site and rules)."""
        return analytics.site == self.config.site and analytics.config == self.config.analytics

    def adopt(self, analytics: CameraAnalytics | None) -> None:
        """Leave standby: go on with handed-over analytics, or start fresh ones."""
        self.analytics = analytics if analytics is not None and self.can_keep(analytics) else self._new_analytics()

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    def hold(self, now: float) -> None:
        """The Detector pipe is full: a frame due now stays in its slot for a later tick (newer ones still replace
        it); one that waits past the deadline is a backpressure drop."""
        self._held = self._held or (now >= self.next_due and self.analytics is not None)

    def take_due(self, now: float, deadline_s: float) -> VideoFrame | None:
        """The newest frame if this camera is due for analysis and the frame is fresh enough."""
        if now < self.next_due:
            return None
        frame = self.reader.take()
        if frame is None or self.analytics is None:  # standby: keep the stream warm, analyse nothing
            return None
        held, self._held = self._held, False
        if now - frame.received_at > deadline_s:
            self.count("backpressure_drops" if held else "late_drops")
            return None
        # a steady schedule (not "now + period"), so frames arriving at exactly the rate are never skipped
        self.next_due = max(self.next_due + self.period, now - self.period)
        return frame

    def analyse(self, frame: VideoFrame, detections: Detections, done: float) -> FrameResult:
        result = self.analytics.update(detections, frame.received_at, frame.image, self.plates)
        self.latencies.append(done - frame.received_at)
        self.analysed_rate.add()
        self.count("frames_analysed")
        self.count("detections", len(detections))
        self._occupancy = result.occupancy
        self._last = (frame, result.detections)
        self._ask_for_clips(result.events)
        return result

    def _ask_for_clips(self, events) -> None:
        """Each new alarm (raised, started) gets a clip of the stream around its moment, once it has been seen."""
        clip, ring = self.config.clip, self.reader.ring
        if clip is None or ring is None:
            return
        for event in events:
            if event.state in (EventState.RAISED, EventState.STARTED):
                ring.request(event.id, event.start - clip.before_s, event.start + clip.after_s)
                self._awaiting_clips[event.id] = event.to_json()
                while len(self._awaiting_clips) > MAX_PENDING:  # the ring drops the oldest requests too
                    self._awaiting_clips.popitem(last=False)

    def take_clips(self) -> list[dict]:
        """Events whose clip has been cut, each with its MP4 (`clip_mp4`): the store keeps it with the event."""
        if self.reader.ring is None:
            return []
        done = [(self._awaiting_clips.pop(key, None), data) for key, data in self.reader.ring.take_done()]
        return [{**event, "clip_mp4": data} for event, data in done if event is not None and data]

    def latest(self) -> LatestDetections | None:
        """The detections of the newest analysed frame (built when asked, not for every frame)."""
        if self._last is None:
            return None
        frame, detections = self._last
        height, width = frame.image.shape[:2]
        return LatestDetections(self.config.id, round(frame.pts_s, 3), frame.received_at, int(width), int(height),
                                tuple(Detection(**d) for d in detections.to_json()))

    def frame_jpeg(self, overlay: bool, width: int | None, blur: bool, after: float | None) -> tuple[float, bytes] | None:
        """(time, JPEG) of the newest analysed frame as `render_frame` draws it; None before the first one, or when
        it is not newer than `after` (a live view asking again)."""
        if self._last is None or self.analytics is None:
            return None
        frame, detections = self._last
        if after is not None and frame.received_at <= after:
            return None
        zones = {name: zone.polygon for name, zone in self.analytics.zones.items()}
        lines = {name: (line.a, line.b) for name, line in self.analytics.lines.items()}
        return frame.received_at, render_frame(frame.image, detections, zones, lines, overlay=overlay, blur=blur,
                                               width=width)

    def status(self) -> CameraStatus:
        reader = self.reader.stats()
        p50, p99 = percentiles(self.latencies)
        age = reader.last_frame_age_s
        return CameraStatus(
            id=self.config.id, site=self.config.site, url=reader.url, state=reader.state, reason=reader.reason,
            shard=self.shard, fps_in=reader.fps_in, fps_analysed=round(self.analysed_rate.rate(), 2),
            drops=reader.frames_dropped + self.counters["late_drops"] + self.counters["backpressure_drops"],
            last_frame_age_s=None if age is None else round(age, 3), latency_p50_s=p50, latency_p99_s=p99,
            frames_decoded=reader.frames_decoded, reconnects=reader.reconnects, stalls=reader.stalls,
            occupancy=self._occupancy, reader_drops=reader.frames_dropped,
            gauge=self.config.analytics.gauge is not None, owner=self.config.owner,
            location=self.config.location_json, **self.counters,
        )

    @staticmethod
    def stop_all(runtimes: list[CameraRuntime]) -> None:
        """Stop many readers in parallel: ask all, then join all."""
        for runtime in runtimes:
            runtime.reader.request_stop()
        for runtime in runtimes:
            runtime.reader.join(runtime.reader.source.read_timeout_s + 2.0)

    def close(self, reason: str) -> tuple[list[Event], list[CountRecord]]:
        """Once the reader has stopped for good: events ending its open incidents (saying `reason`) and the counts
        of the interval in progress. Nothing else: every closed interval already went out with its frame."""
        if self.analytics is None:
            return [], []
        return self.analytics.close(time.time(), reason)
