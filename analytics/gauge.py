"""Flood level from a staff gauge seen by a camera: readings, their plausibility, alarm levels and the rate of rise.

A reading (analytics/gauge_reader.py) is only as good as one frame. Before it can move an alarm it must be
physically plausible (`LevelTracker`): water cannot rise or fall faster than `max_rise_cm_per_min`, so a reading
that jumps further from the last accepted level than that allows (plus the reader's noise) is `uncertain`, and the
first level a camera reports must be confirmed by the next reading. Readings below `min_confidence` are
`uncertain` too. Only accepted readings count towards an alarm (`GaugeAlarm`: `raise_after` consecutive readings at
or above a level raise it, as many below level − hysteresis clear it) and towards the rate of rise (`RiseAlarm`: a
least-squares slope over `rise.window_s`, raised at `rise.cm_per_min`, cleared below it minus its hysteresis).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from matakota.analytics.gauge_reader import Calibration, find_water_line
from matakota.config.analytics import GaugeConfig, RiseAlarmConfig
from matakota.core.events import Event, EventState, EventType, box_tuple

READ_NOISE_CM = 5.0  # two readings of the same water may differ this much
LEVEL_STATUSES = ("ok", "below_range")  # readings that carry a level


@dataclass(frozen=True)
class GaugeReading:
    t: float
    status: str  # "ok" | "below_range" (the level is the bottom of the staff) | "uncertain" (no level)
    row: float | None  # water line, image row (ok only)
    level_cm: float | None
    confidence: float  # 0–1: how well the frame splits into staff above and water below
    reason: str | None = None  # why a reading is uncertain

    def to_json(self) -> dict:
        return {"t": self.t, "status": self.status, "row": self.row, "level_cm": self.level_cm,
                "confidence": round(self.confidence, 3), **({"reason": self.reason} if self.reason else {})}

    def uncertain(self, reason: str) -> GaugeReading:
        return replace(self, status="uncertain", row=None, level_cm=None, reason=reason)


def row_to_cm(row: float, calibration) -> float:
    """Piecewise-linear map from image row to cm, extended linearly past the end pairs."""
    return float(Calibration(calibration).cm(row))


def read_gauge(frame_bgr: np.ndarray, region: tuple[int, int, int, int], calibration, t: float) -> GaugeReading:
    """Read the level from a full frame; `region` is x0, y0, x1, y1 in frame pixels, `calibration` (row, cm) pairs
    in frame rows."""
    x0, y0, x1, y1 = region
    crop = frame_bgr[max(0, y0):y1, max(0, x0):x1]
    if crop.shape[0] < 10 or crop.shape[1] < 5:
        raise ValueError(f"gauge region {region} is outside the frame or too small")
    top = max(0, y0)
    line = find_water_line(crop, Calibration(calibration).shifted(top))
    row = None if line.row is None else line.row + top
    reason = "no water line found" if line.status == "uncertain" else None
    return GaugeReading(t, line.status, row, line.level_cm, line.confidence, reason)


class LevelTracker:
    """Accepts a reading only when the water could have got there since the last accepted one; the first level is
    accepted once a second reading agrees with it. Everything else comes back `uncertain`, with the reason."""

    def __init__(self, config: GaugeConfig):
        self.rate_cm_per_s = config.max_rise_cm_per_min / 60
        self.min_confidence = config.min_confidence
        self.level: float | None = None  # last accepted
        self.t = 0.0
        self._first: GaugeReading | None = None

    def check(self, reading: GaugeReading) -> GaugeReading:
        if reading.status not in LEVEL_STATUSES:
            return reading
        if reading.confidence < self.min_confidence:
            return reading.uncertain(f"confidence {reading.confidence:.2f} below {self.min_confidence:.2f}")
        if self.level is None:
            first, self._first = self._first, reading
            if first is None or not _reachable(first.level_cm, first.t, reading, self.rate_cm_per_s):
                return reading.uncertain("first reading, waiting for a second to agree")
        elif not _reachable(self.level, self.t, reading, self.rate_cm_per_s):
            return reading.uncertain(f"implausible: {reading.level_cm - self.level:+.0f} cm in "
                                     f"{reading.t - self.t:.0f} s")
        self.level, self.t = reading.level_cm, reading.t
        return reading


def _reachable(level_cm: float, t: float, reading: GaugeReading, rate_cm_per_s: float) -> bool:
    return abs(reading.level_cm - level_cm) <= READ_NOISE_CM + rate_cm_per_s * max(0.0, reading.t - t)


class GaugeAlarm:
    """Per level: raise after `raise_after` consecutive readings at/above it; clear after as many
    below level − hysteresis. Readings without a level leave the streaks untouched."""

    def __init__(self, config: GaugeConfig, camera: str, site: str):
        self.config, self.camera, self.site = config, camera, site
        self.levels = dict(sorted(config.levels.items(), key=lambda item: item[1]))
        self._above = {name: 0 for name in self.levels}
        self._below = {name: 0 for name in self.levels}
        self._first_above: dict[str, float] = {}
        self.raised: dict[str, float] = {}  # level name → incident start

    def update(self, reading: GaugeReading) -> list[Event]:
        if reading.level_cm is None:
            return []
        return [e for name, cm in self.levels.items() if (e := self._step(name, cm, reading)) is not None]

    def _step(self, name: str, threshold: float, reading: GaugeReading) -> Event | None:
        level, t = reading.level_cm, reading.t
        if level >= threshold:
            self._first_above.setdefault(name, t)
            self._above[name] += 1
        else:
            self._first_above.pop(name, None)
            self._above[name] = 0
        self._below[name] = self._below[name] + 1 if level < threshold - self.config.hysteresis_cm else 0
        n = self.config.raise_after
        if name not in self.raised and self._above[name] >= n:
            self.raised[name] = self._first_above[name]
            return self._event(name, threshold, EventState.RAISED, reading, end=None)
        if name in self.raised and self._below[name] >= n:
            return self._event(name, threshold, EventState.CLEARED, reading, end=t)
        return None

    def _event(self, name: str, threshold: float, state: EventState, reading: GaugeReading, end) -> Event:
        start = self.raised[name] if state is EventState.RAISED else self.raised.pop(name)
        payload = {"alarm": name, "threshold_cm": threshold, "level_cm": reading.level_cm, "row": reading.row,
                   "confidence": round(reading.confidence, 3)}
        return Event(EventType.FLOOD_LEVEL, self.camera, self.site, name, state, start, end, payload)

    def close(self, t: float, reason: str) -> list[Event]:
        """Clear the raised levels because the camera stops: the level is no longer watched (`payload.closed`)."""
        raised, self.raised = self.raised, {}
        return [Event(EventType.FLOOD_LEVEL, self.camera, self.site, name, EventState.CLEARED, start, t,
                      {"alarm": name, "threshold_cm": self.levels[name], "level_cm": None, "closed": reason})
                for name, start in raised.items()]


class RiseAlarm:
    """The water rising faster than `cm_per_min`: the least-squares slope of the accepted levels over the last
    `window_s`, once they span at least half of it. Raised after `raise_after` consecutive slopes at/above the rate,
    cleared after as many below the rate minus `hysteresis_cm_per_min`."""

    KEY = "rise"

    def __init__(self, config: RiseAlarmConfig, raise_after: int, camera: str, site: str):
        self.config, self.raise_after, self.camera, self.site = config, raise_after, camera, site
        self._levels: deque[tuple[float, float]] = deque()
        self._streak = 0  # consecutive slopes pointing the other way than the current state
        self.raised_at: float | None = None
        self.rate_cm_per_min: float | None = None

    def update(self, reading: GaugeReading) -> list[Event]:
        if reading.level_cm is None:
            return []
        self._levels.append((reading.t, reading.level_cm))
        while self._levels[0][0] < reading.t - self.config.window_s:
            self._levels.popleft()
        self.rate_cm_per_min = rate = self._slope_cm_per_min()
        if rate is None:
            return []
        if self.raised_at is None:
            self._streak = self._streak + 1 if rate >= self.config.cm_per_min else 0
            if self._streak >= self.raise_after:
                self._streak, self.raised_at = 0, reading.t
                return [self._event(EventState.RAISED, reading, rate, None)]
        else:
            self._streak = self._streak + 1 if rate < self.config.cm_per_min - self.config.hysteresis_cm_per_min else 0
            if self._streak >= self.raise_after:
                return [self._event(EventState.CLEARED, reading, rate, reading.t)]
        return []

    def _slope_cm_per_min(self) -> float | None:
        if len(self._levels) < 3 or self._levels[-1][0] - self._levels[0][0] < self.config.window_s / 2:
            return None
        t, cm = np.asarray(self._levels).T
        return float(np.polyfit(t - t[0], cm, 1)[0] * 60)

    def _event(self, state: EventState, reading: GaugeReading, rate: float, end: float | None) -> Event:
        start = self.raised_at
        if state is EventState.CLEARED:
            self.raised_at, self._streak = None, 0
        payload = {"rate_cm_per_min": round(rate, 1), "threshold_cm_per_min": self.config.cm_per_min,
                   "level_cm": reading.level_cm, "row": reading.row, "confidence": round(reading.confidence, 3)}
        return Event(EventType.FLOOD_RISE, self.camera, self.site, self.KEY, state, start, end, payload)

    def close(self, t: float, reason: str) -> list[Event]:
        if self.raised_at is None:
            return []
        start, self.raised_at = self.raised_at, None
        return [Event(EventType.FLOOD_RISE, self.camera, self.site, self.KEY, EventState.CLEARED, start, t,
                      {"threshold_cm_per_min": self.config.cm_per_min, "level_cm": None, "closed": reason})]


class GaugeWatch:
    """A gauge camera's readings → plausible levels → level and rise alarms. Given the gauge region (image pixels),
    alarm changes carry it as their evidence box (the snapshot shows the gauge and the line as read)."""

    def __init__(self, config: GaugeConfig, camera: str, site: str,
                 region: tuple[int, int, int, int] | None = None):
        self.region = None if region is None else box_tuple(region)
        self.tracker = LevelTracker(config)
        self.alarms = [GaugeAlarm(config, camera, site)]
        if config.rise is not None:
            self.alarms.append(RiseAlarm(config.rise, config.raise_after, camera, site))

    def update(self, reading: GaugeReading) -> tuple[GaugeReading, list[Event]]:
        """The reading as accepted (or made `uncertain`) and the alarm changes it causes."""
        checked = self.tracker.check(reading)
        events = [event for alarm in self.alarms for event in alarm.update(checked)]
        return checked, [replace(event, box=self.region) for event in events]

    def close(self, t: float, reason: str) -> list[Event]:
        return [event for alarm in self.alarms for event in alarm.close(t, reason)]
