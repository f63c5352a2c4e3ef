"""Line crossings in/out with hysteresis.

A confirmed track's side is settled once it has been beyond `margin_px` on one side. It crosses when
it has been beyond the margin on the other side for `min_updates` consecutive updates and its anchor
projects onto the segment; walking round an end of the line settles the new side without a count.
One-frame flicker and tentative tracks (-1) never count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matakota.core.detections import ClassSet, Detections
from matakota.core.geometry import projection_fraction, signed_distance_to_line

FORGET_S = 60.0  # drop per-track state unseen this long


@dataclass(frozen=True)
class Crossing:
    line: str
    tracker_id: int
    direction: str  # "in" | "out"
    t: float


@dataclass
class _TrackSide:
    side: int  # settled side: +1 in, -1 out
    candidate: int = 0
    streak: int = 0
    last_t: float = 0.0


class LineCounter:
    def __init__(self, name: str, start, end, in_side: str = "right", classes=(0,),
                 margin_px: float = 4.0, min_updates: int = 2):
        self.name = name
        self.a = np.asarray(start, dtype=np.float64)
        self.b = np.asarray(end, dtype=np.float64)
        self.in_sign = 1.0 if in_side == "right" else -1.0
        self.classes = ClassSet(classes)
        self.margin_px = margin_px
        self.min_updates = min_updates
        self.in_count = 0
        self.out_count = 0
        self._tracks: dict[int, _TrackSide] = {}
        self._last_purge = float("-inf")

    def update(self, detections: Detections, t: float) -> list[Crossing]:
        """Feed one frame of tracked detections; returns the crossings completed in it."""
        mask = (detections.tracker_id >= 0) & self.classes.mask(detections.class_id)
        if not mask.any():
            self._purge(t)
            return []
        anchors = detections.anchors[mask]
        distance = signed_distance_to_line(anchors, self.a, self.b) * self.in_sign
        along = projection_fraction(anchors, self.a, self.b)
        side = np.where(distance > self.margin_px, 1, np.where(distance < -self.margin_px, -1, 0))
        within = (along >= 0.0) & (along <= 1.0)
        crossings = [
            crossing
            for track, s, w in zip(detections.tracker_id[mask].tolist(), side.tolist(), within.tolist())
            if (crossing := self._step(track, s, w, t)) is not None
        ]
        self._purge(t)
        return crossings

    def _step(self, track: int, side: int, within: bool, t: float) -> Crossing | None:
        state = self._tracks.get(track)
        if state is None:
            if side != 0:
                self._tracks[track] = _TrackSide(side=side, last_t=t)
            return None
        state.last_t = t
        if side == 0:
            return None  # inside the dead band: no evidence either way
        if side == state.side:
            state.candidate, state.streak = 0, 0
            return None
        state.streak = state.streak + 1 if state.candidate == side else 1
        state.candidate = side
        if state.streak < self.min_updates:
            return None
        state.side, state.candidate, state.streak = side, 0, 0
        if not within:
            return None  # went round the end of the line: settle the side, count nothing
        direction = "in" if side > 0 else "out"
        if direction == "in":
            self.in_count += 1
        else:
            self.out_count += 1
        return Crossing(self.name, track, direction, t)

    def _purge(self, t: float) -> None:
        if t - self._last_purge < FORGET_S:
            return
        self._last_purge = t
        self._tracks = {k: v for k, v in self._tracks.items() if t - v.last_t <= FORGET_S}
