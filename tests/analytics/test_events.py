"""Event ids stable under retries; count records per minute rolled up to hours and sites."""

import pytest

from matakota.analytics.counts import ALL_CAMERAS, CountRecord, IntervalCounter, roll_up
from matakota.core.events import Event, EventState, EventType


def event(**overrides):
    fields = {"type": EventType.CROWDING, "camera": "cam-1", "site": "simpang-lima", "key": "alun-alun",
              "state": EventState.RAISED, "start": 1_700_000_000.0, "payload": {"occupancy": 80}}
    return Event(**{**fields, **overrides})


@pytest.mark.parametrize(
    ("change", "same_incident", "same_id"),
    [
        ({}, True, True),  # a retry rebuilds the same value
        ({"payload": {"occupancy": 99}}, True, True),  # payload does not change identity
        ({"state": EventState.CLEARED, "end": 1_700_000_100.0}, True, False),
        ({"start": 1_700_000_001.0}, False, False),
        ({"camera": "cam-2"}, False, False),
        ({"key": "other-zone"}, False, False),
        ({"type": EventType.INTRUSION}, False, False),
    ],
)
def test_event_ids_are_deterministic(change, same_incident, same_id):
    a, b = event(), event(**change)
    assert (a.incident_id == b.incident_id) is same_incident
    assert (a.id == b.id) is same_id


def test_events_are_frozen_and_serialise_to_json():
    e = event(box=(1.0, 2.0, 3.0, 4.0))
    with pytest.raises(AttributeError):
        e.state = EventState.CLEARED
    assert e.to_json()["type"] == "crowding" and e.to_json()["box"] == [1.0, 2.0, 3.0, 4.0]
    assert e.to_json()["id"] == event().id


def test_interval_counter_closes_each_minute_once():
    counter = IntervalCounter("cam-1", "kota-lama", ["plaza"], ["gate"], interval_s=60)
    closed = []
    for t in range(0, 150, 1):
        closed += counter.roll(float(t))
        counter.add_zone("plaza", occupancy=3 if t < 60 else 1, new_visits=1 if t % 20 == 0 else 0)
        counter.add_line("gate", ins=1 if t % 30 == 0 else 0, outs=0)
    by_key = {(r.kind, r.start): r for r in closed}
    assert sorted(by_key) == [("line", 0.0), ("line", 60.0), ("zone", 0.0), ("zone", 60.0)]
    first = by_key[("zone", 0.0)]
    assert (first.occupancy_max, first.occupancy_mean, first.visits, first.samples) == (3, 3.0, 3, 60)
    assert by_key[("line", 60.0)].in_count == 2
    assert [r.start for r in counter.flush()] == [120.0, 120.0]  # the minute in progress, on shutdown


def test_checkpoints_carry_the_interval_in_progress_under_its_final_id():
    counter = IntervalCounter("cam-1", "kota-lama", ["plaza"], [], interval_s=60, checkpoint_s=10)
    out = []
    for t in range(95):
        out += counter.roll(float(t))
        counter.add_zone("plaza", occupancy=1, new_visits=1 if t % 7 == 0 else 0)
        out += counter.checkpoint(float(t))
    assert [(r.start, r.samples, r.visits) for r in out] == [
        (0, 11, 2), (0, 21, 3), (0, 31, 5), (0, 41, 6), (0, 51, 8), (0, 60, 9),  # checkpoints, then the closed minute
        (60, 11, 2), (60, 21, 3), (60, 31, 4)]
    assert len({r.id for r in out if r.start == 0}) == 1  # one row in the store, the one with most samples wins
    assert IntervalCounter("c", "s", ["plaza"], [], checkpoint_s=0).checkpoint(1e9) == []


def record(camera, site, start, occ_max, mean, visits, samples=60, ins=0):
    return CountRecord(camera, site, "zone", "plaza", start, start + 60, samples, occ_max, mean, visits, ins, 0)


def test_roll_up_to_hours_and_sites():
    minutes = [record("c1", "s", 60.0 * m, occ_max=m % 7, mean=1.0, visits=2, ins=1) for m in range(120)]
    hourly = roll_up(minutes)
    assert [(r.start, r.end, r.visits, r.in_count, r.occupancy_max) for r in hourly] == [
        (0.0, 3600.0, 120, 60, 6), (3600.0, 7200.0, 120, 60, 6)]
    other = [record("c2", "s", 0.0, occ_max=5, mean=2.0, visits=4)]
    site = roll_up(minutes[:60] + other, per_site=True)
    assert len(site) == 1 and site[0].camera == ALL_CAMERAS
    assert (site[0].visits, site[0].occupancy_max, site[0].occupancy_mean) == (124, 11, 3.0)
    assert len(roll_up(minutes[:60] + other)) == 2  # not per site: one per camera


def test_count_record_ids_are_stable():
    assert record("c1", "s", 60.0, 1, 1.0, 1).id == record("c1", "s", 60.0, 9, 2.0, 5).id
    assert record("c1", "s", 60.0, 1, 1.0, 1).id != record("c1", "s", 120.0, 1, 1.0, 1).id
