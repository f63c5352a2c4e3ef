"""A camera's `analytics:` section: zones, lines, rules (crowding, intrusion, parking), flood gauge, tracker.

Coordinates are source-image pixels (`units: px`) or fractions of width/height (`units: norm`).
Times are seconds; intrusion hours are local wall-clock time in `timezone`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from pydantic import Field, field_validator, model_validator

from matakota.config.base import StrictModel
from matakota.core.detections import PERSON, VEHICLES
from matakota.core.geometry import is_simple_polygon, polygon_area

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Identifier: letters, digits, _ . -")]
# Pixels and centimetres within reason: a camera frame is never 100,000 px wide, a river gauge never 1 km tall
# (and NaN or infinity never pass the strict base).
Coordinate = Annotated[float, Field(ge=-100_000, le=100_000)]
Point = tuple[Coordinate, Coordinate]
Centimetres = Annotated[float, Field(ge=-100_000, le=100_000)]
Units = Literal["px", "norm"]
_HOURS = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def _scale(points, units: str, frame_size: tuple[int, int] | None) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if units == "px":
        return array
    if frame_size is None:
        raise ValueError("normalised coordinates need the frame size (width, height)")
    return array * np.asarray(frame_size, dtype=np.float64)


def _check_norm(points, units: str, field: str) -> None:
    if units == "norm" and any(not (0.0 <= v <= 1.0) for p in points for v in p):
        raise ValueError(f"{field}: normalised coordinates must lie in [0, 1]")


class ZoneConfig(StrictModel):
    name: Name
    kind: Literal["counting", "restricted", "no_parking", "crowd"] = Field(
        default="counting", description="What the zone is for; rules refer to zones by name")
    units: Units = Field(default="px", description="px: source-image pixels; norm: fractions of width/height")
    polygon: list[Point] = Field(min_length=3, max_length=64, description="Vertices in order, not closed")
    classes: tuple[int, ...] = Field(default=(PERSON,), min_length=1, description="COCO class ids counted")

    @model_validator(mode="after")
    def _valid_polygon(self) -> ZoneConfig:
        _check_norm(self.polygon, self.units, f"zone {self.name!r} polygon")
        points = np.asarray(self.polygon, dtype=np.float64)
        if not is_simple_polygon(points):
            raise ValueError(f"zone {self.name!r} polygon: edges intersect (self-intersecting)")
        if abs(polygon_area(points)) < 1e-9:
            raise ValueError(f"zone {self.name!r} polygon: zero area")
        return self

    def pixels(self, frame_size: tuple[int, int] | None = None) -> np.ndarray:
        return _scale(self.polygon, self.units, frame_size)


class LineConfig(StrictModel):
    name: Name
    units: Units = Field(default="px", description="px: source-image pixels; norm: fractions of width/height")
    start: Point = Field(description="First end of the counting line")
    end: Point = Field(description="Second end of the counting line")
    in_side: Literal["left", "right"] = Field(
        default="right", description="Side counted as 'in', seen walking from start to end on screen")
    classes: tuple[int, ...] = Field(default=(PERSON,), min_length=1, description="COCO class ids counted")
    margin_px: float = Field(default=4.0, ge=0.0, le=200.0, description="Dead band either side of the line")
    min_updates: int = Field(default=2, ge=1, le=20, description="Updates on the new side before a crossing counts")

    @model_validator(mode="after")
    def _valid_line(self) -> LineConfig:
        _check_norm([self.start, self.end], self.units, f"line {self.name!r}")
        if np.hypot(self.end[0] - self.start[0], self.end[1] - self.start[1]) < 1e-9:
            raise ValueError(f"line {self.name!r} start/end: zero length")
        return self

    def pixels(self, frame_size: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        a, b = _scale([self.start, self.end], self.units, frame_size)
        return a, b


class CrowdingRule(StrictModel):
    type: Literal["crowding"] = "crowding"
    zone: Name = Field(description="Zone whose occupancy is watched")
    max_occupancy: int = Field(ge=0, le=100_000, description="Raise when occupancy is above this")
    for_s: float = Field(default=10.0, ge=0.0, le=86_400, description="...continuously for this long")
    clear_s: float = Field(default=10.0, ge=0.0, le=86_400, description="Clear after this long at or below")


class IntrusionRule(StrictModel):
    type: Literal["intrusion"] = "intrusion"
    zone: Name = Field(description="Restricted zone")
    classes: tuple[int, ...] = Field(default=(PERSON,), min_length=1, description="COCO class ids that intrude")
    hours: str = Field(default="00:00-24:00", description="Active local hours 'HH:MM-HH:MM'; may wrap midnight")
    for_s: float = Field(default=0.0, ge=0.0, le=3600, description="Presence needed before raising")
    clear_s: float = Field(default=5.0, ge=0.0, le=3600, description="Absence needed before clearing")

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        match = _HOURS.match(value)
        if not match or any(int(h) == 24 and int(m) != 0 for h, m in (match.groups()[:2], match.groups()[2:])):
            raise ValueError(f"hours {value!r}: expected 'HH:MM-HH:MM' (00:00-24:00)")
        return value

    def window_minutes(self) -> tuple[int, int]:
        h0, m0, h1, m1 = (int(v) for v in _HOURS.match(self.hours).groups())
        return h0 * 60 + m0, h1 * 60 + m1


class ParkingRule(StrictModel):
    """A no-parking sign: where (zone), when (hours, days), for whom (classes), how long a stop may last, and the
    plate reading of vehicles about to become violations (analytics/parking.py, analytics/plates.py)."""

    type: Literal["parking"] = "parking"
    zone: Name = Field(description="No-parking zone")
    classes: tuple[int, ...] = Field(
        default=VEHICLES, min_length=1,
        description="COCO class ids the sign applies to (2 car, 3 motorcycle, 5 bus, 7 truck); e.g. [2, 5, 7] where "
                    "motorbikes may park")
    max_stationary_s: float = Field(default=300.0, gt=0.0, le=86_400, description="Allowed stationary time")
    grace_s: float = Field(default=0.0, ge=0.0, le=86_400,
                           description="Tolerance past max_stationary_s before a violation is raised")
    hours: str = Field(default="00:00-24:00",
                       description="Local hours the sign applies 'HH:MM-HH:MM' (may wrap midnight); stationary time "
                                   "outside them does not count, and a violation ends when they end")
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = Field(
        default=("mon", "tue", "wed", "thu", "fri", "sat", "sun"), min_length=1,
        description="Days the sign applies (the local calendar day of the moment)")
    stationary_iou: float = Field(default=0.6, gt=0.0, lt=1.0, description="Box overlap that counts as 'not moved'")
    leave_grace_s: float = Field(default=10.0, ge=0.0, le=3600, description="Unseen this long = vehicle left")
    plate_reads: int = Field(default=4, ge=0, le=20,
                             description="Frames whose plate is read (OCR) per vehicle about to become a violation "
                                         "(0: no plate reading)")
    plate_lead_s: float = Field(default=20.0, ge=0.0, le=3600,
                                description="Start reading the plate this long before the limit")
    plate_every_s: float = Field(default=2.0, ge=0.0, le=600, description="At most one plate read this often")
    plate_min_votes: int = Field(default=2, ge=1, le=20,
                                 description="Reads that must agree on the plate; fewer: the plate is 'unread'")
    plate_min_confidence: float = Field(default=0.7, ge=0.0, le=1.0,
                                        description="Mean OCR confidence the agreeing reads need; lower: 'unread'")

    _valid_hours = field_validator("hours")(IntrusionRule._valid_hours.__func__)

    def window_minutes(self) -> tuple[int, int]:
        h0, m0, h1, m1 = (int(v) for v in _HOURS.match(self.hours).groups())
        return h0 * 60 + m0, h1 * 60 + m1


Rule = Annotated[CrowdingRule | IntrusionRule | ParkingRule, Field(discriminator="type")]


class RiseAlarmConfig(StrictModel):
    cm_per_min: float = Field(gt=0.0, le=1000, description="Raise when the water rises at least this fast")
    window_s: float = Field(default=300.0, ge=2.0, le=86_400, description="Fit the rate over this much time")
    hysteresis_cm_per_min: float = Field(default=2.0, ge=0.0, le=1000,
                                         description="Clear below cm_per_min minus this")


class GaugeConfig(StrictModel):
    units: Units = Field(default="px", description="Units of `region`")
    region: tuple[Coordinate, Coordinate, Coordinate, Coordinate] = Field(
        description="Staff gauge box x0, y0, x1, y1 in the image")
    calibration: list[tuple[Coordinate, Centimetres]] = Field(
        min_length=2, description="(image pixel row, centimetres) pairs; rows increasing, cm decreasing")
    levels: dict[Name, Centimetres] = Field(
        default_factory=dict, description="Alarm name → level in cm, e.g. {waspada: 50, siaga: 100, awas: 150}")
    raise_after: int = Field(default=3, ge=1, le=100, description="Consecutive readings at/above a level to raise")
    hysteresis_cm: float = Field(default=5.0, ge=0.0, le=1000, description="Clear below level minus this")
    every_s: float = Field(default=30.0, ge=0.0, le=3600, description="Read the gauge at most this often")
    max_rise_cm_per_min: float = Field(
        default=60.0, gt=0.0, le=10_000,
        description="Water never rises or falls faster: a reading that implies it is uncertain")
    min_confidence: float = Field(default=0.7, ge=0.0, le=1.0,
                                  description="Readings less confident than this are uncertain")
    rise: RiseAlarmConfig | None = Field(default=None, description="Alarm on a fast rise, e.g. {cm_per_min: 10}")

    @model_validator(mode="after")
    def _valid_gauge(self) -> GaugeConfig:
        x0, y0, x1, y1 = self.region
        if x1 <= x0 or y1 <= y0:
            raise ValueError("gauge region: needs x1 > x0 and y1 > y0")
        _check_norm([(x0, y0), (x1, y1)], self.units, "gauge region")
        rows, cms = np.asarray(self.calibration, dtype=np.float64).T
        if np.any(np.diff(rows) <= 0) or np.any(np.diff(cms) >= 0):
            raise ValueError("gauge calibration: not monotonic (rows must increase while cm decreases)")
        return self

    def region_pixels(self, frame_size: tuple[int, int] | None = None) -> tuple[int, int, int, int]:
        (x0, y0), (x1, y1) = _scale([self.region[:2], self.region[2:]], self.units, frame_size)
        return int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1))


class TrackerConfig(StrictModel):
    high_score: float = Field(default=0.5, gt=0.0, le=1.0, description="First-stage detection score")
    low_score: float = Field(default=0.1, gt=0.0, le=1.0, description="Second-stage (recovery) detection score")
    match_iou: float = Field(default=0.2, gt=0.0, lt=1.0, description="Minimum IoU with a predicted box")
    max_jump: float = Field(default=1.0, gt=0.0, le=10.0, description="Fallback match: centre jump ≤ this × box height")
    confirm_hits: int = Field(default=3, ge=1, le=30, description="Hits before a track gets an id")
    max_lost_s: float = Field(default=5.0, gt=0.0, le=600, description="Keep a lost track this long")

    @model_validator(mode="after")
    def _ordered(self) -> TrackerConfig:
        if self.low_score > self.high_score:
            raise ValueError("tracker low_score: must not exceed high_score")
        return self


class CameraAnalyticsConfig(StrictModel):
    fps: float = Field(default=1.0, gt=0.0, le=30.0, description="Analysed frames per second")
    frame_size: tuple[Annotated[int, Field(ge=1, le=100_000)], Annotated[int, Field(ge=1, le=100_000)]] | None = Field(
        default=None, description="Width, height; needed for norm units")
    timezone: str = Field(default="Asia/Jakarta", description="IANA zone for rule hours (Semarang: WIB)")
    visit_grace_s: float = Field(default=3.0, ge=0.0, le=600, description="Exit-and-return within this = one visit")
    count_interval_s: float = Field(default=60.0, ge=1.0, le=86_400, description="Count record length")
    count_checkpoint_s: float = Field(
        default=10.0, ge=0.0, le=86_400,
        description="Store the interval in progress this often (0: only closed intervals); bounds what a lost node loses")
    tracker: TrackerConfig = Field(default_factory=TrackerConfig, description="Tracker tunables")
    zones: list[ZoneConfig] = Field(default_factory=list, description="Named polygons")
    lines: list[LineConfig] = Field(default_factory=list, description="Named counting lines")
    rules: list[Rule] = Field(default_factory=list, description="Crowding, intrusion and parking rules")
    gauge: GaugeConfig | None = Field(default=None, description="Flood gauge, if the camera sees one")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone {value!r}: unknown IANA zone") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CameraAnalyticsConfig:
        for field, items in (("zones", self.zones), ("lines", self.lines)):
            names = [item.name for item in items]
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"{field}: duplicate names {duplicates}")
        known = {zone.name for zone in self.zones}
        for index, rule in enumerate(self.rules):
            if rule.zone not in known:
                raise ValueError(f"rules[{index}].zone: {rule.zone!r} is not a zone (known: {sorted(known)})")
        uses_norm = any(x.units == "norm" for x in [*self.zones, *self.lines, *([self.gauge] if self.gauge else [])])
        if uses_norm and self.frame_size is not None and min(self.frame_size) <= 0:
            raise ValueError("frame_size: width and height must be positive")
        return self
