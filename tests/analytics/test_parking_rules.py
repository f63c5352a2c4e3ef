"""No-parking signs as the street shows them: hours and days, vehicle classes, a grace period; the plate read only
for vehicles about to become violations, a few frames, voted on."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from matakota.analytics.parking import ParkingWatch
from matakota.analytics.plates import PlateText
from matakota.config.analytics import ParkingRule
from matakota.core.events import EventState
from tests.analytics.synthetic_scenes import dets

ZONE = np.array([[0, 100], [600, 100], [600, 400], [0, 400]], float)
CAR = [200, 250, 320, 330]
WIB = ZoneInfo("Asia/Jakarta")


def at(day: int, hour: int, minute: int = 0) -> float:
    """Epoch seconds of December `day` 2026, local time (1 December 2026 is a Tuesday; the 5th a Saturday)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=WIB).timestamp()


def park(watch: ParkingWatch, start: float, seconds: int, cls: int = 2, step: int = 10, read_plate=None):
    """A car standing from `start` for `seconds`, seen every `step` s, then gone; (seconds after start, event)."""
    frame = np.zeros((432, 768, 3), np.uint8)
    out = []
    for offset in range(0, seconds + 60, step):
        seen = offset < seconds
        detections = dets([CAR], ids=[1], cls=[cls]) if seen else dets([])
        out += [(offset, e) for e in watch.update(detections, start + offset, frame, read_plate)]
    return out


def watch(**rule) -> ParkingWatch:
    return ParkingWatch(ParkingRule(zone="bahu-jalan", leave_grace_s=20, **rule), ZONE, "cam-1", "simpang-lima")


SIGN = {"max_stationary_s": 300, "hours": "06:00-18:00", "days": ["mon", "tue", "wed", "thu", "fri"]}


@pytest.mark.parametrize(("start", "seconds", "expected"), [
    (at(1, 10), 600, [(300, "started"), (620, "ended")]),  # a weekday morning: over 5 min is a violation (ends
    # once unseen for leave_grace_s)
    (at(1, 5, 50), 1200, [(900, "started"), (1220, "ended")]),  # parked before 06:00: its time counts from 06:00
    (at(1, 17, 50), 1800, [(300, "started"), (600, "ended")]),  # the sign stops at 18:00: the violation ends then
    (at(1, 19), 3600, []),  # night: parking allowed
    (at(5, 10), 3600, []),  # Saturday: parking allowed
])
def test_the_sign_s_hours_and_days(start, seconds, expected):
    events = park(watch(**SIGN), start, seconds)
    assert [(t, e.state.value) for t, e in events] == expected


def test_the_violation_ended_by_the_sign_s_hours_says_so():
    events = park(watch(**SIGN), at(1, 17, 50), 1800)
    assert events[-1][1].payload["ended_by"] == "sign hours"


def test_the_grace_period_is_added_to_the_limit():
    events = park(watch(max_stationary_s=300, grace_s=120), at(1, 10), 900)
    assert [(t, e.state) for t, e in events][0] == (420, EventState.STARTED)


@pytest.mark.parametrize(("cls", "violations", "label"), [(2, 1, "car"), (3, 0, None), (7, 1, "truck")])
def test_vehicle_classes_per_zone_motorbikes_allowed(cls, violations, label):
    events = park(watch(max_stationary_s=300, classes=[2, 5, 7]), at(1, 10), 600, cls=cls)
    started = [e for _, e in events if e.state is EventState.STARTED]
    assert len(started) == violations
    if started:
        assert started[0].payload["class"] == label


class FakeOcr:
    """Stands in for models/plate_ocr.py (its own tests use the real model): says what it is told, counts calls."""

    def __init__(self, answers):
        self.answers, self.calls = list(answers), []

    def __call__(self, frame, box):
        self.calls.append(box)
        answer = self.answers[min(len(self.calls) - 1, len(self.answers) - 1)]
        return (PlateText(*answer), np.zeros((10, 30, 3), np.uint8)) if answer else (None, None)


def test_the_plate_is_read_only_shortly_before_the_limit_a_few_times():
    ocr = FakeOcr([("H 1234 AB", 0.9)])
    rule = dict(max_stationary_s=300, plate_lead_s=40, plate_every_s=10, plate_reads=3)
    events = park(watch(**rule), at(1, 10), 600, read_plate=ocr)
    assert len(ocr.calls) == 3  # at 260, 270 and 280 s: not for the first 4 minutes, not after the vote
    started = next(e for _, e in events if e.state is EventState.STARTED)
    assert (started.payload["plate"], started.payload["plate_votes"]) == ("H 1234 AB", 3)


def test_moving_traffic_is_never_read():
    ocr = FakeOcr([("H 1234 AB", 0.9)])
    w = watch(max_stationary_s=30, plate_lead_s=10)
    for t in range(60):
        box = [10 + 8 * t, 250, 130 + 8 * t, 330]  # slow traffic, 8 px/s
        w.update(dets([box], ids=[1], cls=[2]), at(1, 10) + t, np.zeros((4, 4, 3), np.uint8), ocr)
    assert ocr.calls == []


@pytest.mark.parametrize(("answers", "plate"), [
    ([None, None, None, None], "unread"),
    ([("H 1234 AB", 0.9), ("H 1284 AB", 0.9), None, None], "unread"),  # disagreeing frames: no guess
    ([("H 1234 AB", 0.9), None, ("H 1234 AB", 0.8), None], "H 1234 AB"),
])
def test_unread_rather_than_a_guess(answers, plate):
    ocr = FakeOcr(answers)
    events = park(watch(max_stationary_s=300, plate_lead_s=40, plate_every_s=10, plate_reads=4), at(1, 10), 600,
                  read_plate=ocr)
    assert events[0][1].payload["plate"] == plate


def test_hours_that_do_not_parse_are_a_config_error_naming_the_field():
    with pytest.raises(ValueError, match="hours '7-9'"):
        ParkingRule(zone="z", hours="7-9")
    with pytest.raises(ValueError, match="days"):
        ParkingRule(zone="z", days=["monday"])


def test_a_car_still_standing_when_the_sign_resumes_is_a_second_violation_with_its_own_id():
    # parked at 17:00 Tuesday, still there at 07:00 Wednesday: one violation each day, neither dropped as a resend
    events = park(watch(**SIGN), at(1, 17), 14 * 3600, step=60)
    started = [e for _, e in events if e.state is EventState.STARTED]
    ended = [e for _, e in events if e.state is EventState.ENDED]
    assert len(started) == 2 and len({e.incident_id for e in started}) == 2
    assert [e.incident_id for e in ended] == [e.incident_id for e in started]  # each end closes its own start


def test_two_signs_on_one_zone_are_distinct_violations():
    from matakota.analytics.camera import CameraAnalytics
    from matakota.config.analytics import CameraAnalyticsConfig

    config = CameraAnalyticsConfig.model_validate({
        "zones": [{"name": "bahu-jalan", "kind": "no_parking", "polygon": ZONE.tolist()}],
        "rules": [{"type": "parking", "zone": "bahu-jalan", "max_stationary_s": 300},
                  {"type": "parking", "zone": "bahu-jalan", "max_stationary_s": 600, "classes": [7]}]})
    analytics = CameraAnalytics("cam-1", "simpang-lima", config)
    started = [e for t in range(0, 700, 10)
               for e in analytics.update(dets([CAR], ids=[1], cls=[7]), at(1, 10) + t).events
               if e.state is EventState.STARTED]
    assert len(started) == 2 and len({e.incident_id for e in started}) == 2
    assert [e.payload["zone"] for e in started] == ["bahu-jalan", "bahu-jalan"]
