"""Crowding and intrusion early warnings, including intrusion hours that wrap midnight."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from matakota.analytics.early_warning import CrowdingWatch, IntrusionWatch, in_window
from matakota.config.analytics import CrowdingRule, IntrusionRule
from matakota.core.events import EventState
from tests.analytics.synthetic_scenes import dets, person_at

WIB = ZoneInfo("Asia/Jakarta")


def at(hhmm: str) -> float:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 3, 1, h, m, tzinfo=WIB).timestamp()


def test_crowding_raises_once_after_the_hold_time_and_clears_once():
    watch = CrowdingWatch(CrowdingRule(zone="alun-alun", max_occupancy=50, for_s=10, clear_s=5), "c", "simpang-lima")
    series = [40] * 5 + [60] * 3 + [40] + [60] * 15 + [40] * 10
    events = [(t, e) for t, n in enumerate(series) for e in watch.update(n, float(t))]
    assert [(t, e.state) for t, e in events] == [(19, EventState.RAISED), (29, EventState.CLEARED)]
    raised, cleared = events[0][1], events[1][1]
    assert raised.start == 9.0 and cleared.start == 9.0 and cleared.end == 29.0
    assert cleared.payload["peak"] == 60


@pytest.mark.parametrize(
    ("minute", "window", "active"),
    [
        (23 * 60, (22 * 60, 5 * 60), True),
        (3 * 60, (22 * 60, 5 * 60), True),
        (5 * 60, (22 * 60, 5 * 60), False),  # end is exclusive
        (12 * 60, (22 * 60, 5 * 60), False),
        (12 * 60, (9 * 60, 17 * 60), True),
        (0, (0, 24 * 60), True),
        (0, (8 * 60, 8 * 60), False),  # empty window
    ],
)
def test_active_hours(minute, window, active):
    assert in_window(minute, window) is active


@pytest.mark.parametrize(
    ("clock", "raised"),
    [("23:30", True), ("02:00", True), ("04:59", True), ("05:00", False), ("13:00", False), ("21:59", False)],
)
def test_intrusion_only_in_active_local_hours(clock, raised):
    watch = IntrusionWatch(IntrusionRule(zone="museum", hours="22:00-05:00"), "c", "kota-lama")
    events = watch.update(dets([person_at(100, 100)], ids=[3]), at(clock))
    assert [e.state for e in events] == ([EventState.RAISED] if raised else [])
    if raised:
        assert events[0].box == (80.0, -20.0, 120.0, 100.0) and events[0].payload["tracker_ids"] == [3]


def test_intrusion_clears_after_absence_and_when_the_window_closes():
    rule = IntrusionRule(zone="museum", hours="22:00-05:00", for_s=2, clear_s=5)
    watch = IntrusionWatch(rule, "c", "kota-lama")
    person, nobody = dets([person_at(100, 100)], ids=[1]), dets([])
    t0 = at("23:00")
    states = [(t, e.state) for t, d in enumerate([person] * 4 + [nobody] * 6) for e in watch.update(d, t0 + t)]
    assert states == [(2, EventState.RAISED), (9, EventState.CLEARED)]
    # raised just before 05:00 and still there at 05:00 → cleared by the schedule
    t1 = at("04:58")
    states = [e.state for t in range(0, 181, 30) for e in watch.update(person, t1 + t)]
    assert states == [EventState.RAISED, EventState.CLEARED]


def test_intrusion_ignores_classes_not_named_in_the_rule():
    watch = IntrusionWatch(IntrusionRule(zone="museum", classes=(0,)), "c", "s")
    assert watch.update(dets([person_at(100, 100)], cls=2, ids=[1]), at("23:00")) == []
