"""Zone occupancy, visits and dwell time from tracked detections (anchor = bottom-centre of the box)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from matakota.core.detections import ClassSet, Detections
from matakota.core.geometry import Polygon


@dataclass(frozen=True)
class Visit:
    """One track's stay in a zone; brief exits shorter than the grace period do not split it."""

    zone: str
    tracker_id: int
    start: float
    end: float

    @property
    def dwell_s(self) -> float:
        return self.end - self.start


@dataclass
class _OpenVisit:
    start: float
    last_inside: float


class ZoneCounter:
    """`update(tracked, t)` → occupancy now; closed visits accumulate in `closed` until taken."""

    def __init__(self, name: str, polygon: np.ndarray, classes=(0,), grace_s: float = 3.0, history: int = 600):
        self.name = name
        self.polygon = np.asarray(polygon, dtype=np.float64)
        self.shape = Polygon(self.polygon)
        self.classes = ClassSet(classes)
        self.grace_s = grace_s
        self.occupancy = 0
        self.series: deque[tuple[float, int]] = deque(maxlen=history)  # (t, occupancy), newest last
        self.visits_total = 0
        self.max_occupancy = 0
        self._open: dict[int, _OpenVisit] = {}
        self._closed: list[Visit] = []

    def inside(self, detections: Detections) -> np.ndarray:
        """Mask of detections of this zone's classes whose anchor lies in the polygon."""
        of_class = self.classes.mask(detections.class_id)
        mask = np.zeros(len(detections), dtype=bool)
        if of_class.any():
            mask[of_class] = self.shape.contains(detections.anchors[of_class])
        return mask

    def update(self, detections: Detections, t: float) -> int:
        """Count confirmed tracks inside (tracker_id ≥ 0), open and close visits; returns occupancy."""
        mask = self.inside(detections) & (detections.tracker_id >= 0)
        ids = detections.tracker_id[mask].tolist()
        for track in ids:
            visit = self._open.get(track)
            if visit is None:
                self._open[track] = _OpenVisit(start=t, last_inside=t)
                self.visits_total += 1
            else:
                visit.last_inside = t
        self._close_expired(t)
        self.occupancy = len(ids)
        self.max_occupancy = max(self.max_occupancy, self.occupancy)
        self.series.append((t, self.occupancy))
        return self.occupancy

    def _close_expired(self, t: float) -> None:
        expired = [k for k, v in self._open.items() if t - v.last_inside > self.grace_s]
        for track in expired:
            visit = self._open.pop(track)
            self._closed.append(Visit(self.name, track, visit.start, visit.last_inside))

    def close_all(self) -> None:
        """Close every open visit at its last sighting (the stream ended; no grace period to wait out)."""
        for track, visit in self._open.items():
            self._closed.append(Visit(self.name, track, visit.start, visit.last_inside))
        self._open.clear()

    def take_closed(self) -> list[Visit]:
        """Visits that ended since the last call (each returned once)."""
        closed, self._closed = self._closed, []
        return closed

    def open_dwell(self, t: float) -> dict[int, float]:
        """Seconds each track currently in the zone has spent there."""
        return {k: t - v.start for k, v in self._open.items()}
