"""Early-warning rules: crowding (occupancy above N for T seconds) and intrusion (classes in a
restricted zone during active local hours). Each raises one event and clears it once."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from matakota.config.analytics import CrowdingRule, IntrusionRule
from matakota.core.detections import ClassSet, Detections
from matakota.core.events import Event, EventState, EventType, box_tuple


def in_window(minute_of_day: int, window: tuple[int, int]) -> bool:
    """Whether a minute of the day (0–1439) falls in [start, end); start > end wraps midnight."""
    start, end = window
    if start == end:
        return False
    if start < end:
        return start <= minute_of_day < end
    return minute_of_day >= start or minute_of_day < end


def local_minute(t: float, tz: ZoneInfo) -> int:
    local = datetime.fromtimestamp(t, tz)
    return local.hour * 60 + local.minute


class _Latch:
    """Raise after a condition holds `for_s`, clear after it fails `clear_s`; remembers the raise time."""

    def __init__(self, for_s: float, clear_s: float):
        self.for_s, self.clear_s = for_s, clear_s
        self.raised_at: float | None = None
        self._true_since: float | None = None
        self._false_since: float | None = None

    def step(self, condition: bool, t: float) -> EventState | None:
        if condition:
            self._false_since = None
            self._true_since = t if self._true_since is None else self._true_since
            if self.raised_at is None and t - self._true_since >= self.for_s:
                self.raised_at = self._true_since
                return EventState.RAISED
            return None
        self._true_since = None
        self._false_since = t if self._false_since is None else self._false_since
        if self.raised_at is not None and t - self._false_since >= self.clear_s:
            return EventState.CLEARED
        return None


class CrowdingWatch:
    def __init__(self, rule: CrowdingRule, camera: str, site: str):
        self.rule, self.camera, self.site = rule, camera, site
        self._latch = _Latch(rule.for_s, rule.clear_s)
        self._peak = 0

    def update(self, occupancy: int, t: float) -> list[Event]:
        crowded = occupancy > self.rule.max_occupancy
        self._peak = max(self._peak, occupancy) if crowded or self._latch.raised_at is not None else 0
        state = self._latch.step(crowded, t)
        if state is None:
            return []
        start = self._latch.raised_at
        payload = {"zone": self.rule.zone, "occupancy": occupancy, "limit": self.rule.max_occupancy,
                   "peak": self._peak}
        if state is EventState.CLEARED:
            self._latch.raised_at, self._peak = None, 0
        return [Event(EventType.CROWDING, self.camera, self.site, self.rule.zone, state, start,
                      t if state is EventState.CLEARED else None, payload)]

    def close(self, t: float, reason: str) -> list[Event]:
        """Clear a raised warning because the camera stops (`payload.closed` says why)."""
        if self._latch.raised_at is None:
            return []
        start, self._latch.raised_at = self._latch.raised_at, None
        payload = {"zone": self.rule.zone, "limit": self.rule.max_occupancy, "peak": self._peak, "closed": reason}
        return [Event(EventType.CROWDING, self.camera, self.site, self.rule.zone, EventState.CLEARED, start, t,
                      payload)]


class IntrusionWatch:
    def __init__(self, rule: IntrusionRule, camera: str, site: str, timezone: str = "Asia/Jakarta"):
        self.rule, self.camera, self.site = rule, camera, site
        self._tz = ZoneInfo(timezone)
        self._window = rule.window_minutes()
        self._classes = ClassSet(rule.classes)
        self._latch = _Latch(rule.for_s, rule.clear_s)

    def active(self, t: float) -> bool:
        return in_window(local_minute(t, self._tz), self._window)

    def update(self, inside: Detections, t: float) -> list[Event]:
        """`inside`: confirmed detections whose anchor is in the rule's zone (any class)."""
        intruders = inside[self._classes.mask(inside.class_id)]
        active = self.active(t)
        state = self._latch.step(active and len(intruders) > 0, t)
        if state is EventState.CLEARED or (not active and self._latch.raised_at is not None):
            return self._clear(t, len(intruders))
        if state is EventState.RAISED:
            box = box_tuple(intruders.xyxy[0])
            payload = {"zone": self.rule.zone, "count": len(intruders), "hours": self.rule.hours,
                       "tracker_ids": intruders.tracker_id.tolist()}
            return [Event(EventType.INTRUSION, self.camera, self.site, self.rule.zone, EventState.RAISED,
                          self._latch.raised_at, None, payload, box)]
        return []

    def close(self, t: float, reason: str) -> list[Event]:
        """Clear a raised intrusion because the camera stops (`payload.closed` says why)."""
        return self._clear(t, 0, closed=reason) if self._latch.raised_at is not None else []

    def _clear(self, t: float, count: int, **extra) -> list[Event]:
        start, self._latch.raised_at = self._latch.raised_at, None
        payload = {"zone": self.rule.zone, "count": count, "hours": self.rule.hours, **extra}
        return [Event(EventType.INTRUSION, self.camera, self.site, self.rule.zone, EventState.CLEARED,
                      start, t, payload)]
