"""Parking cases in the store (SQLite and PostgreSQL): idempotent writes with their files, the end of a violation,
repeat offenders linked (same plate, same zone, within a day), the day's listing, and their own retention."""

from __future__ import annotations

import pytest

from matakota.core.events import Event, EventState, EventType
from matakota.store import InvalidRecord, split_evidence

DAY = 86400.0
T = 1_796_094_000.0  # 2026-12-01 10:00 WIB


BOX = [200.0, 250.0, 320.0, 330.0]


def case(n: int, start: float, plate: str = "H 1234 AB", zone: str = "bahu-jalan", camera: str = "cam-1",
         run: str | None = None, box: list[float] | None = None) -> dict:
    return {"event_id": f"ev-{n}", "incident_id": f"inc-{n}", "camera": camera, "site": "simpang-lima", "zone": zone,
            "plate": plate, "plate_confidence": 0.9, "class": "car", "start": start, "limit_t": start + 300,
            "run": run, "box": box, "files": {"limit.jpg": b"\xff\xd8limit", "manifest.json": b"{}"}}


def test_a_case_and_its_files_are_stored_once(store):
    assert store.write_cases([case(1, T)]) == 1
    assert store.write_cases([case(1, T)]) == 0  # a retried batch
    stored = store.case("ev-1")
    assert (stored["plate"], stored["class"], stored["offence"], stored["end"]) == ("H 1234 AB", "car", 1, None)
    assert store.case_files("ev-1") == {"limit.jpg": b"\xff\xd8limit", "manifest.json": b"{}"}
    assert store.case_for_incident("inc-1")["event_id"] == "ev-1"


def test_the_end_of_the_violation_gives_its_duration(store):
    store.write_cases([case(1, T)])
    store.write_cases([], [{"incident_id": "inc-1", "end": T + 1200.0}])
    assert store.case("ev-1")["duration_s"] == 1200.0


@pytest.mark.parametrize(("second", "offence"), [
    (case(2, T + 3600), 2),  # same plate, same zone, an hour later: a repeat
    (case(2, T + 3600, zone="trotoar"), 1),  # another zone
    (case(2, T + 3600, camera="cam-2"), 1),  # another camera's zone of the same name
    (case(2, T + DAY + 1), 1),  # more than a day later
    (case(2, T + 3600, plate="H 1234 AC"), 1),
])
def test_repeat_offenders_are_linked(store, second, offence):
    store.write_cases([case(1, T)])
    store.write_cases([second])
    stored = store.case("ev-2")
    assert stored["offence"] == offence and stored["repeat_of"] == ("ev-1" if offence == 2 else None)


def test_unread_plates_are_never_linked(store):
    store.write_cases([case(1, T, plate="unread"), case(2, T + 60, plate="unread")])
    assert store.case("ev-2")["offence"] == 1


def test_the_day_s_cases_oldest_first(store):
    store.write_cases([case(2, T + 600), case(1, T), case(3, T + DAY)])
    assert [c["event_id"] for c in store.cases(since=T - 3600, until=T + 3600)] == ["ev-1", "ev-2"]
    assert store.cases(since=T - 3600, until=T + 3600, cameras=["cam-9"]) == []


def _event(start: float, type_: EventType) -> Event:
    return Event(type_, "cam-1", "simpang-lima", "bahu-jalan@260,330", EventState.STARTED, start, None,
                 {"zone": "bahu-jalan"}, (200.0, 250.0, 320.0, 330.0))


def test_cases_are_kept_for_their_own_retention(store):
    """Ordinary events and snapshots go after retention_days (30 here); a case and its package stay until the case
    retention (90 days), though the event it began with is gone."""
    events = [_event(T, EventType.CROWDING), _event(T, EventType.PARKING_VIOLATION),
              _event(T + 80 * DAY, EventType.CROWDING)]
    rows, snapshots = split_evidence({**e.to_json(), "snapshot_jpeg": b"\xff\xd8full", "crop_jpeg": b"\xff\xd8crop"}
                                     for e in events)
    store.write(rows, [], snapshots)
    store.write_cases([case(1, T), case(2, T + 80 * DAY)])
    now = T + 95 * DAY
    pruned = store.prune(older_than_s=30 * DAY, now=now)
    assert (pruned.events, pruned.snapshots) == (2, 4)  # the two 95-day-old events and their images
    assert [store.get_event(e.id) is None for e in events] == [True, True, False]
    assert store.snapshot(f"{events[2].id}.jpg") == b"\xff\xd8full"
    assert store.case_files("ev-1") == {"limit.jpg": b"\xff\xd8limit", "manifest.json": b"{}"}  # 95 days: kept
    assert store.prune_cases(90 * DAY, now=now) == 1
    assert store.case("ev-1") is None and store.case_files("ev-1") == {}
    assert store.case("ev-2") is not None and store.case_files("ev-2")


def test_a_case_lacking_a_field_is_refused(store):
    broken = case(1, T)
    del broken["plate"]
    with pytest.raises(InvalidRecord, match="plate"):
        store.write_cases([broken])


def test_after_a_failover_the_same_parked_car_continues_its_case_not_a_repeat_offence(store):
    store.write_cases([case(1, T, run="before", box=BOX)])  # the shard dies; its case never ends
    store.write_cases([case(2, T + 900, run="after", box=[204.0, 248.0, 322.0, 333.0])])  # fresh analytics
    store.write_cases([], [{"incident_id": "inc-2", "end": T + 2000.0}])
    earlier, later = store.case("ev-1"), store.case("ev-2")
    assert (earlier["end"], earlier["ended_by"]) == (T + 900, "continued")
    assert (later["continues"], later["offence"], later["repeat_of"]) == ("ev-1", 1, None)
    assert (later["start"], later["duration_s"]) == (T, 2000.0)  # the whole stay, from the car's arrival
    assert [c["continues"] for c in store.cases(since=T, until=T + DAY)] == [None, "ev-1"]


@pytest.mark.parametrize(("earlier", "later", "continued"), [
    (case(1, T, "unread", run="a", box=BOX), case(2, T + 900, "unread", run="b", box=BOX), True),
    (case(1, T, run="a", box=BOX), case(2, T + 900, "unread", run="b", box=BOX), True),  # read once, unread again
    (case(1, T, run="a", box=BOX), case(2, T + 900, run="b", box=[400.0, 250.0, 520.0, 330.0]), True),  # moved
    (case(1, T, "unread", run="a", box=BOX), case(2, T + 900, "unread", run="b", box=[400.0, 250.0, 520.0, 330.0]),
     False),  # another car beside it
    (case(1, T, run="a", box=BOX), case(2, T + 900, "H 9 X", run="b", box=BOX), False),  # another plate
    (case(1, T, run="a", box=BOX), case(2, T + 900, run="a", box=BOX), False),  # the same run: another sign
    (case(1, T, run="a", box=BOX), case(2, T + 900, run="b", box=BOX, zone="trotoar"), False),
])
def test_what_continues_an_open_case(store, earlier, later, continued):
    store.write_cases([earlier])
    store.write_cases([later])
    assert (store.case("ev-2")["continues"] == "ev-1") is continued
    assert (store.case("ev-1")["end"] is None) is not continued


def test_a_case_that_ended_is_never_continued(store):
    store.write_cases([case(1, T, run="a", box=BOX)], [{"incident_id": "inc-1", "end": T + 600.0}])
    store.write_cases([case(2, T + 900, run="b", box=BOX)])
    assert (store.case("ev-2")["continues"], store.case("ev-2")["offence"]) == (None, 2)  # it left and came back


def test_an_open_case_of_a_lost_run_ends_once_the_new_run_had_time_to_find_its_car(store):
    from matakota.actors.analytics_runs import RunChange

    store.write_cases([case(1, T, run="a", box=BOX), case(2, T, "H 9 X", camera="cam-2", run="c", box=BOX)])
    replaced = {"cam-1": RunChange("b", since=T + 1000, before="a", before_last=T + 900)}
    assert store.close_lost_cases(replaced, now=T + 1000 + 300 + 60) == 0  # the new run may still find it
    assert store.case("ev-1")["end"] is None
    assert store.close_lost_cases(replaced, now=T + 1000 + 300 + 600) == 1  # it did not: the car left unwatched
    lost = store.case("ev-1")
    assert (lost["end"], lost["ended_by"], lost["duration_s"]) == (T + 900, "shard lost", 900.0)
    assert store.case("ev-2")["end"] is None  # another camera's run was not lost
