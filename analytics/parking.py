"""Illegal parking: a vehicle stationary inside a no-parking zone longer than allowed.

Keyed on location, not on track id: each parked spot remembers the box where the vehicle stopped.
A detection overlapping that box (IoU ≥ `stationary_iou`) is the same parked vehicle, whatever id the
tracker gave it, so an identity switch never restarts the timer. A spot unseen for `leave_grace_s`
means the vehicle left: its violation ends, and a vehicle arriving later starts a new one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matakota.analytics.tracker import greedy_match
from matakota.config.analytics import ParkingRule
from matakota.core.detections import ClassSet, Detections
from matakota.core.events import Event, EventState, EventType, box_tuple
from matakota.core.geometry import Polygon, iou_matrix


@dataclass(eq=False)  # identity, not value: spots hold arrays
class _Spot:
    box: np.ndarray  # where the vehicle stopped
    since: float  # first seen stationary here
    last_seen: float
    violating: bool = False


class ParkingWatch:
    def __init__(self, rule: ParkingRule, polygon: np.ndarray, camera: str, site: str):
        self.rule, self.camera, self.site = rule, camera, site
        self.shape = Polygon(polygon)
        self._classes = ClassSet(rule.classes)
        self._spots: list[_Spot] = []

    @property
    def violations(self) -> int:
        """Vehicles currently parked past the limit."""
        return sum(s.violating for s in self._spots)

    def update(self, detections: Detections, t: float) -> list[Event]:
        vehicles = detections[self._classes.mask(detections.class_id)]
        if len(vehicles) == 0 and not self._spots:
            return []
        vehicles = vehicles[self.shape.contains(vehicles.anchors)]
        boxes = vehicles.xyxy.astype(np.float64)
        spot_boxes = np.array([s.box for s in self._spots]).reshape(-1, 4)
        pairs = greedy_match(iou_matrix(boxes, spot_boxes), self.rule.stationary_iou)
        for _, k in pairs:
            self._spots[k].last_seen = t
        events = [e for spot in list(self._spots) if (e := self._check(spot, t)) is not None]
        matched_rows = {r for r, _ in pairs}
        self._spots.extend(_Spot(boxes[r], t, t) for r in range(len(boxes)) if r not in matched_rows)
        return events

    def _check(self, spot: _Spot, t: float) -> Event | None:
        """Start the violation once over the limit; end it (and forget the spot) once the vehicle left."""
        if t - spot.last_seen > self.rule.leave_grace_s:
            self._spots.remove(spot)
            if spot.violating:
                return self._event(spot, EventState.ENDED, end=spot.last_seen)
            return None
        if not spot.violating and spot.last_seen == t and t - spot.since >= self.rule.max_stationary_s:
            spot.violating = True
            return self._event(spot, EventState.STARTED, end=None)
        return None

    def close(self, t: float, reason: str) -> list[Event]:
        """End the violations in progress because the camera stops (`payload.closed` says why)."""
        spots, self._spots = self._spots, []
        return [self._event(spot, EventState.ENDED, end=spot.last_seen, closed=reason) for spot in spots
                if spot.violating]

    def _event(self, spot: _Spot, state: EventState, end: float | None, **extra) -> Event:
        payload = {"zone": self.rule.zone, "limit_s": self.rule.max_stationary_s, **extra}
        if end is not None:
            payload["duration_s"] = round(end - spot.since, 3)
        cx, cy = (spot.box[0] + spot.box[2]) / 2, spot.box[3]
        key = f"{self.rule.zone}@{cx:.0f},{cy:.0f}"  # two cars stopping at once get distinct ids
        return Event(EventType.PARKING_VIOLATION, self.camera, self.site, key, state,
                     spot.since, end, payload, box_tuple(spot.box))
