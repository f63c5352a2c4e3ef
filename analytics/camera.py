"""One camera's analytics, wired: tracker → zones, lines, rules, parking, gauge → events and counts."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from matakota.analytics.counts import CountRecord, IntervalCounter
from matakota.analytics.early_warning import CrowdingWatch, IntrusionWatch
from matakota.analytics.gauge import GaugeReading, GaugeWatch, read_gauge
from matakota.analytics.lines import Crossing, LineCounter
from matakota.analytics.parking import CaseMaterial, ParkingWatch, PlateReader
from matakota.analytics.tracker import ByteTracker
from matakota.analytics.zones import Visit, ZoneCounter
from matakota.config.analytics import CameraAnalyticsConfig, CrowdingRule, IntrusionRule, ParkingRule
from matakota.core.detections import Detections
from matakota.core.events import Event

KEEP_EVENTS = 1000  # recent events and visits kept for `summary()`


@dataclass(frozen=True)
class FrameResult:
    camera: str
    t: float
    detections: Detections  # with tracker_id (-1 = tentative)
    occupancy: dict[str, int]
    crossings: tuple[Crossing, ...]
    events: tuple[Event, ...]
    counts: tuple[CountRecord, ...]  # intervals closed by this frame, and a checkpoint of the one in progress if due
    gauge: GaugeReading | None = None
    cases: dict[str, CaseMaterial] = field(default_factory=dict)  # started parking violations' evidence material


class CameraAnalytics:
    def __init__(self, camera_id: str, site: str, config: CameraAnalyticsConfig,
                 frame_size: tuple[int, int] | None = None, part: str = ""):
        """`part` names this run of the camera's analytics in its count records (core/counts: partial sums)."""
        self.camera, self.site, self.config, self.part = camera_id, site, config, part
        size = frame_size or config.frame_size
        self.tracker = ByteTracker(config.tracker)
        self.zones = {z.name: ZoneCounter(z.name, z.pixels(size), z.classes, config.visit_grace_s)
                      for z in config.zones}
        self.lines = {l.name: LineCounter(l.name, *l.pixels(size), l.in_side, l.classes, l.margin_px,
                                          l.min_updates) for l in config.lines}
        self._crowding = [CrowdingWatch(r, camera_id, site) for r in config.rules if isinstance(r, CrowdingRule)]
        self._intrusion = [IntrusionWatch(r, camera_id, site, config.timezone)
                           for r in config.rules if isinstance(r, IntrusionRule)]
        parking = [r for r in config.rules if isinstance(r, ParkingRule)]
        self._parking = [ParkingWatch(r, self.zones[r.zone].polygon, camera_id, site, config.timezone,
                                      ordinal=[o.zone for o in parking[:index + 1]].count(r.zone))
                         for index, r in enumerate(parking)]
        self._gauge_region = config.gauge.region_pixels(size) if config.gauge else None
        self._gauge = GaugeWatch(config.gauge, camera_id, site, self._gauge_region) if config.gauge else None
        self._gauge_last_t = float("-inf")
        self.counter = IntervalCounter(camera_id, site, self.zones, self.lines, config.count_interval_s, part,
                                       config.count_checkpoint_s)
        self.events: deque[Event] = deque(maxlen=KEEP_EVENTS)
        self.visits: dict[str, deque[Visit]] = {name: deque(maxlen=KEEP_EVENTS) for name in self.zones}
        self.stats = {"frames": 0, "gauge_errors": 0}

    def update(self, detections: Detections, t: float, frame: np.ndarray | None = None,
               read_plate: PlateReader | None = None) -> FrameResult:
        """Analyse one frame's detections (source-image pixels) taken at epoch time t; `read_plate` (models/plate_ocr
        via the runtime) reads the plates of vehicles about to become parking violations."""
        closed = self.counter.roll(t)
        tracked = self.tracker.update(detections, t)
        occupancy = self._update_zones(tracked, t)
        crossings = self._update_lines(tracked, t)
        counts = tuple(closed + self.counter.checkpoint(t))
        events = self._update_rules(tracked, occupancy, t, frame, read_plate)
        reading = self._read_gauge(frame, t)
        if reading is not None:
            reading, alarms = self._gauge.update(reading)
            events += alarms
        self.events.extend(events)
        self.stats["frames"] += 1
        cases = {key: case for watch in self._parking for key, case in watch.cases.items()}
        return FrameResult(self.camera, t, tracked, occupancy, tuple(crossings), tuple(events), counts, reading, cases)

    def _update_zones(self, tracked: Detections, t: float) -> dict[str, int]:
        occupancy = {}
        for name, zone in self.zones.items():
            before = zone.visits_total
            occupancy[name] = zone.update(tracked, t)
            closed = zone.take_closed()
            self.counter.add_zone(name, occupancy[name], zone.visits_total - before, t,
                                  tuple(v.dwell_s for v in closed))
            self.visits[name].extend(closed)
        return occupancy

    def _update_lines(self, tracked: Detections, t: float) -> list[Crossing]:
        crossings = []
        for name, line in self.lines.items():
            new = line.update(tracked, t)
            ins = sum(c.direction == "in" for c in new)
            self.counter.add_line(name, ins, len(new) - ins)
            crossings += new
        return crossings

    def _update_rules(self, tracked: Detections, occupancy: dict[str, int], t: float, frame=None,
                      read_plate: PlateReader | None = None) -> list[Event]:
        events = [e for w in self._crowding for e in w.update(occupancy[w.rule.zone], t)]
        confirmed = tracked[tracked.tracker_id >= 0]
        for watch in self._intrusion:
            inside = confirmed[self.zones[watch.rule.zone].shape.contains(confirmed.anchors)]
            events += watch.update(inside, t)
        events += [e for w in self._parking for e in w.update(tracked, t, frame, read_plate)]
        return events

    def _read_gauge(self, frame: np.ndarray | None, t: float) -> GaugeReading | None:
        if frame is None or self._gauge_region is None or t - self._gauge_last_t < self.config.gauge.every_s:
            return None
        self._gauge_last_t = t
        try:
            return read_gauge(frame, self._gauge_region, self.config.gauge.calibration, t)
        except ValueError:
            self.stats["gauge_errors"] += 1  # region outside this frame: counted, not fatal
            return None

    def flush(self) -> list[CountRecord]:
        """Records of the interval in progress (call when the camera stops); open visits are closed."""
        for name, zone in self.zones.items():
            zone.close_all()
            closed = zone.take_closed()
            self.counter.add_stays(name, tuple(v.dwell_s for v in closed))
            self.visits[name].extend(closed)
        return self.counter.flush()

    def close(self, t: float, reason: str) -> tuple[list[Event], list[CountRecord]]:
        """The camera stops for good (removed, or its analytics replaced): end every open incident, saying why
        (`payload.closed`), and return the counts of the interval in progress."""
        watches = [*self._crowding, *self._intrusion, *self._parking]
        if self._gauge is not None:
            watches.append(self._gauge)
        events = [event for watch in watches for event in watch.close(t, reason)]
        self.events.extend(events)
        return events, self.flush()

    def summary(self) -> dict:
        return {
            "camera": self.camera,
            "zones": {name: {"visits": z.visits_total, "max_occupancy": z.max_occupancy,
                             "dwell_s": [round(v.dwell_s, 1) for v in self.visits[name]],
                             "stays": [_stay_json(v) for v in self.visits[name]]} for name, z in self.zones.items()},
            "lines": {name: {"in": l.in_count, "out": l.out_count} for name, l in self.lines.items()},
            "events": [e.to_json() for e in self.events],
        }


def _stay_json(visit: Visit) -> dict:
    return {"track": visit.tracker_id, "start": round(visit.start, 3), "end": round(visit.end, 3),
            "dwell_s": round(visit.dwell_s, 1)}
