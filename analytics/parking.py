"""Illegal parking: a vehicle stationary inside a no-parking zone longer than its sign allows.

Keyed on location, not on track id: each parked spot remembers the box where the vehicle stopped.
A detection overlapping that box (IoU ≥ `stationary_iou`) is the same parked vehicle, whatever id the
tracker gave it, so an identity switch never restarts the timer. A spot unseen for `leave_grace_s`
means the vehicle left: its violation ends, and a vehicle arriving later starts a new one.

The sign's hours and days (`ParkingRule.hours`, `days`): stationary time counts only while they apply, from the
later of the vehicle's arrival and their start; a violation in progress ends when they end. A violation starts at
`max_stationary_s + grace_s`. From `plate_lead_s` before that, the spot's plate is read (`read_plate`, given by the
caller: the OCR lives in models/) in up to `plate_reads` frames and voted on (analytics/plates.py), so the OCR
runs only for vehicles about to become violations. Each started violation comes with its `CaseMaterial` (the
photo at arrival, the plate's picture) for the evidence package (analytics/case_evidence.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from matakota.analytics.case_evidence import arrival_photo
from matakota.analytics.early_warning import in_window, local_minute
from matakota.analytics.plates import PlateText, vote
from matakota.analytics.tracker import greedy_match
from matakota.config.analytics import ParkingRule
from matakota.core.detections import PERSON, ClassSet, Detections, label_of
from matakota.core.events import Event, EventState, EventType, box_tuple
from matakota.core.geometry import Polygon, iou_matrix

ARRIVAL_KEEP_S = 3.0  # a spot seen once keeps its first frame this long (a missed detection is not a departure)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# read_plate(frame, box) → (the frame's plate reading or None, the plate's picture or None); or a Future of that
# (read elsewhere: folded in on a later frame), or None (the reader is busy: ask again later)
PlateRead = tuple[PlateText | None, np.ndarray | None]
PlateReader = Callable[[np.ndarray, np.ndarray], PlateRead | Future | None]


@dataclass(frozen=True)
class CaseMaterial:
    """What the evidence package of a started violation needs beyond its event: the photo of the frame the vehicle
    was first seen standing in (JPEG, people pixelated; and when, and where), the picture of its plate (None when
    unread), and when the frame at the limit was taken."""

    arrival_jpeg: bytes | None
    arrival_t: float
    arrival_box: tuple[float, float, float, float]
    plate_image: np.ndarray | None
    limit_photo_t: float


@dataclass(eq=False)  # identity, not value: spots hold arrays
class _Spot:
    box: np.ndarray  # where the vehicle stopped
    since: float  # first seen stationary here
    last_seen: float
    counted_since: float | None  # when its stationary time began to count (the sign applying), None: not now
    violating: bool = False
    violations: int = 0  # violations started here (a car still standing when the sign's hours resume: a second)
    classes: Counter = field(default_factory=Counter)
    # (t, frame, people boxes) of its first sighting, held only until it is seen again (≤ ARRIVAL_KEEP_S), then
    # kept as a JPEG (`photo`, taken at `photo_t`): a parked car holds tens of kB, never a frame
    first: tuple[float, np.ndarray, np.ndarray] | None = None
    photo: bytes | None = None
    photo_t: float = 0.0
    readings: list[PlateText | None] = field(default_factory=list)
    plate_images: dict[str, np.ndarray] = field(default_factory=dict)  # best picture per plate read
    last_read: float = float("-inf")
    pending: Future | None = None  # a read still running elsewhere (never two at once for one spot)

    def __getstate__(self) -> dict:
        """Handed over to another shard (a move), a spot leaves its pending read behind: it asks again there."""
        return {**self.__dict__, "pending": None}


class ParkingWatch:
    def __init__(self, rule: ParkingRule, polygon: np.ndarray, camera: str, site: str,
                 timezone: str = "Asia/Jakarta", ordinal: int = 1):
        """`ordinal`: this rule's place among the parking rules on its zone (another sign: other incidents)."""
        self.rule, self.camera, self.site = rule, camera, site
        self._tag = rule.zone if ordinal == 1 else f"{rule.zone}#{ordinal}"
        self.shape = Polygon(polygon)
        self._classes = ClassSet(rule.classes)
        self._spots: list[_Spot] = []
        self._tz = ZoneInfo(timezone)
        self._window = rule.window_minutes()
        self._days = {DAYS.index(day) for day in rule.days}
        self.cases: dict[str, CaseMaterial] = {}  # started violations of the last update → their material

    @property
    def violations(self) -> int:
        """Vehicles currently parked past the limit."""
        return sum(s.violating for s in self._spots)

    def applies(self, t: float) -> bool:
        """Whether the sign applies at epoch time t (its hours and days, local time)."""
        if self._window == (0, 1440) and len(self._days) == 7:
            return True
        return (datetime.fromtimestamp(t, self._tz).weekday() in self._days
                and in_window(local_minute(t, self._tz), self._window))

    def update(self, detections: Detections, t: float, frame: np.ndarray | None = None,
               read_plate: PlateReader | None = None) -> list[Event]:
        self.cases = {}
        vehicles = detections[self._classes.mask(detections.class_id)]
        if len(vehicles) == 0 and not self._spots:
            return []
        vehicles = vehicles[self.shape.contains(vehicles.anchors)]
        people = detections.xyxy[detections.class_id == PERSON] if frame is not None else None
        boxes = vehicles.xyxy.astype(np.float64)
        spot_boxes = np.array([s.box for s in self._spots]).reshape(-1, 4)
        pairs = greedy_match(iou_matrix(boxes, spot_boxes), self.rule.stationary_iou)
        for row, k in pairs:
            spot = self._spots[k]
            spot.last_seen = t
            spot.classes[int(vehicles.class_id[row])] += 1
            if spot.photo is None and (spot.first is not None or frame is not None):
                photo_t, photo_frame, photo_people = spot.first or (t, frame, people)
                spot.photo, spot.photo_t, spot.first = arrival_photo(photo_frame, photo_people), photo_t, None
        applies = self.applies(t)
        events = []
        for spot in list(self._spots):
            if spot.first is not None and spot.last_seen == spot.since and t - spot.since > ARRIVAL_KEEP_S:
                spot.first = None  # seen once, not since: traffic passing, not a stop (keeps no frame)
            self._maybe_read_plate(spot, t, frame, read_plate, applies)
            if (event := self._check(spot, t, applies)) is not None:
                events.append(event)
        matched_rows = {r for r, _ in pairs}
        for r in range(len(boxes)):
            if r not in matched_rows:
                first = None if frame is None else (t, frame, people)
                spot = _Spot(boxes[r], t, t, t if applies else None, first=first)
                spot.classes[int(vehicles.class_id[r])] += 1
                self._spots.append(spot)
        return events

    def _maybe_read_plate(self, spot: _Spot, t: float, frame, read_plate, applies: bool) -> None:
        """Read the plate of a vehicle about to become a violation (or one already), a few frames, spaced out."""
        rule = self.rule
        if spot.pending is not None and spot.pending.done():
            done, spot.pending = spot.pending, None
            failed = done.cancelled() or done.exception() is not None  # a failed read is an unread one
            _fold(spot, *((None, None) if failed else done.result()))
        if (read_plate is None or frame is None or not applies or spot.counted_since is None or spot.last_seen != t
                or spot.pending is not None or len(spot.readings) >= rule.plate_reads
                or t - spot.last_read < rule.plate_every_s
                or t - spot.counted_since < rule.max_stationary_s + rule.grace_s - rule.plate_lead_s):
            return
        answer = read_plate(frame, spot.box)
        if answer is None:
            return  # the reader is busy: this spot asks again on a later frame
        spot.last_read = t
        if isinstance(answer, Future):
            spot.pending = answer
        else:
            _fold(spot, *answer)

    def _check(self, spot: _Spot, t: float, applies: bool) -> Event | None:
        """Start the violation once over the limit; end it (and forget the spot) once the vehicle left, or when the
        sign stops applying (the vehicle's time counts again when it applies again)."""
        if t - spot.last_seen > self.rule.leave_grace_s:
            self._spots.remove(spot)
            if spot.violating:
                return self._event(spot, EventState.ENDED, end=spot.last_seen)
            return None
        if not applies:
            spot.counted_since = None
            if spot.violating:
                spot.violating = False
                return self._event(spot, EventState.ENDED, end=t, ended_by="sign hours")
            return None
        if spot.counted_since is None:
            spot.counted_since = t
        limit = self.rule.max_stationary_s + self.rule.grace_s
        if not spot.violating and spot.last_seen == t and t - spot.counted_since >= limit:
            spot.violating, spot.violations = True, spot.violations + 1
            event = self._event(spot, EventState.STARTED, end=None)
            self.cases[event.id] = CaseMaterial(spot.photo, spot.photo_t if spot.photo else spot.since,
                                                box_tuple(spot.box),
                                                spot.plate_images.get(event.payload.get("plate", "")), t)
            return event
        return None

    def close(self, t: float, reason: str) -> list[Event]:
        """End the violations in progress because the camera stops (`payload.closed` says why)."""
        spots, self._spots = self._spots, []
        return [self._event(spot, EventState.ENDED, end=spot.last_seen, closed=reason) for spot in spots
                if spot.violating]

    def _event(self, spot: _Spot, state: EventState, end: float | None, **extra) -> Event:
        rule = self.rule
        verdict = vote(spot.readings, rule.plate_min_votes, rule.plate_min_confidence) if rule.plate_reads else None
        class_id = spot.classes.most_common(1)[0][0] if spot.classes else -1
        payload = {"zone": rule.zone, "limit_s": rule.max_stationary_s, "grace_s": rule.grace_s,
                   "counted_since": None if spot.counted_since is None else round(spot.counted_since, 3),
                   "class": label_of(class_id) if class_id >= 0 else "vehicle", "class_id": class_id,
                   **(verdict.to_json() if verdict is not None else {}), **extra}
        if rule.hours != "00:00-24:00" or len(rule.days) < 7:
            payload["sign"] = {"hours": rule.hours, "days": list(rule.days)}
        if end is not None:
            payload["duration_s"] = round(end - spot.since, 3)
        cx, cy = (spot.box[0] + spot.box[2]) / 2, spot.box[3]
        # two cars stopping at once, and a spot's second violation (same car, the sign's hours again), get distinct
        # ids; the same violation resent keeps its id
        again = f"~{spot.violations}" if spot.violations > 1 else ""
        key = f"{self._tag}@{cx:.0f},{cy:.0f}{again}"
        return Event(EventType.PARKING_VIOLATION, self.camera, self.site, key, state,
                     spot.since, end, payload, box_tuple(spot.box))


def _fold(spot: _Spot, reading: PlateText | None, picture: np.ndarray | None) -> None:
    """One plate reading into the spot's votes, keeping the most confident picture of each plate."""
    spot.readings.append(reading)
    if reading is not None and picture is not None:
        best = [r for r in spot.readings if r is not None and r.plate == reading.plate]
        if reading.confidence >= max(r.confidence for r in best):
            spot.plate_images[reading.plate] = picture
