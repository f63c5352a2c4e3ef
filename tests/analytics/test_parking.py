"""Illegal parking: timer keyed on location, survives identity switches, ends when the car leaves."""

import numpy as np
import pytest

from matakota.analytics.parking import ParkingWatch
from matakota.config.analytics import ParkingRule
from matakota.core.events import EventState, EventType
from tests.analytics.synthetic_scenes import dets

ZONE = np.array([[0, 100], [600, 100], [600, 400], [0, 400]], float)
CAR = [200, 250, 320, 330]
RULE = ParkingRule(zone="no-parking", max_stationary_s=60, leave_grace_s=10)


def run(frames, rule=RULE):
    """frames: per second, a list of (box, tracker_id, class_id); returns (t, event) pairs."""
    watch = ParkingWatch(rule, ZONE, "cam-1", "kota-lama")
    out = []
    for t, frame in enumerate(frames):
        boxes = [b for b, _, _ in frame]
        detections = dets(boxes, ids=[i for _, i, _ in frame], cls=[c for _, _, c in frame]) if frame else dets([])
        out += [(t, e) for e in watch.update(detections, float(t))]
    return watch, out


def parked(seconds, track=1, box=CAR, cls=2):
    rng = np.random.default_rng(track)
    return [[(np.asarray(box) + rng.normal(0, 1.5, 4), track, cls)] for _ in range(seconds)]


def test_car_parked_too_long_starts_then_ends_a_violation_with_duration():
    watch, events = run(parked(120) + [[]] * 20)
    assert [(t, e.state) for t, e in events] == [(60, EventState.STARTED), (130, EventState.ENDED)]  # 10 s grace after last seen at 119
    started, ended = events[0][1], events[1][1]
    assert started.type is EventType.PARKING_VIOLATION and started.box is not None
    assert ended.payload["duration_s"] == 119.0 and ended.end == 119.0
    assert started.incident_id == ended.incident_id and started.id != ended.id
    assert watch.violations == 0


def test_identity_switches_do_not_restart_the_timer():
    frames = [[(CAR, 1 + t // 15, 2)] for t in range(70)]  # tracker hands out a new id every 15 s
    _, events = run(frames)
    assert [(t, e.state) for t, e in events] == [(60, EventState.STARTED)]


@pytest.mark.parametrize(("gap_s", "violations"), [(5, 1), (30, 2)])
def test_a_car_that_leaves_and_a_new_one_that_arrives_is_a_new_violation(gap_s, violations):
    # a short gap is a missed detection of the same car; a long one means it drove off
    _, events = run(parked(70) + [[]] * gap_s + parked(70, track=9))
    assert sum(e.state is EventState.STARTED for _, e in events) == violations


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        ([[([200 + 8 * t, 250, 320 + 8 * t, 330], 1, 2)] for t in range(70)], 0),  # slow traffic, moving
        (parked(70, cls=0), 0),  # a person standing there is not parking
        (parked(70, box=[200, 450, 320, 520]), 0),  # parked outside the zone
        (parked(59), 0),  # just under the limit
        (parked(70, cls=3), 1),  # a motorcycle is a vehicle
    ],
)
def test_what_counts_as_illegal_parking(frames, expected):
    _, events = run(frames)
    assert sum(e.state is EventState.STARTED for _, e in events) == expected


def test_two_cars_side_by_side_are_two_violations_with_distinct_ids():
    other = [400, 250, 520, 330]
    frames = [[(CAR, 1, 2), (other, 2, 2)] for _ in range(70)]
    _, events = run(frames)
    assert len({e.id for _, e in events}) == 2
