"""Open-data packages from real store rows: valid Frictionless Data Packages whose rows are what the store says,
on local days, with nothing personal in them."""

from __future__ import annotations

import csv
import json
from datetime import datetime

import pytest

from matakota.analytics.counts import CountRecord
from matakota.cluster.export import count_rows, event_rows, export, visit_rows
from matakota.config import OpenDataConfig, ReportsConfig, SitePlan
from matakota.core.calendar import parse_period, zone
from matakota.core.dwell import DWELL_BINS, dwell_bin
from matakota.core.events import Event, EventState, EventType
from matakota.outputs.opendata import DATASETS, OpenDataError, validate_package, write_package
from matakota.store import open_store, split_evidence
from tests.store.conftest import PG_DSN, _pg_available, pg_schema

WIB = zone("Asia/Jakarta")
REPORTS = ReportsConfig(sites={"simpang-lima": SitePlan(title="Simpang Lima")},
                        open_data=OpenDataConfig(ckan_url="http://portal.invalid", organization="kota-semarang"))
PLATE = "H 1234 AB"


def wib(text: str) -> float:
    """Epoch seconds of a local (WIB) wall-clock time, 2026-11-05T10:00."""
    return datetime.fromisoformat(text).replace(tzinfo=WIB).timestamp()


def stays(*seconds: float) -> tuple[int, ...]:
    hist = [0] * DWELL_BINS
    for s in seconds:
        hist[dwell_bin(s)] += 1
    return tuple(hist)


def minute(t: float, kind="zone", name="plaza", **figures) -> CountRecord:
    return CountRecord("slm-001", "simpang-lima", kind, name, t, t + 60, samples=60, **figures)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """The test's counts in a SQLite file, or in a PostgreSQL schema of its own (dropped afterwards)."""
    schema = None
    if request.param == "postgres":
        if not _pg_available():
            pytest.skip(f"PostgreSQL not reachable at {PG_DSN}")
        schema = pg_schema()
    with open_store(PG_DSN if schema else tmp_path / "matakota.db", schema=schema) as store:
        store.write(counts=[
            minute(wib("2026-11-05T10:00"), occupancy_max=7, occupancy_mean=3.0, visits=5,
                   peak_ts=wib("2026-11-05T10:00") + 20, dwell_count=2, dwell_sum_s=300.0, dwell_hist=stays(100, 200)),
            minute(wib("2026-11-05T10:00"), kind="line", name="gate", in_count=6, out_count=1),
            # 23:30 WIB is still the 5th here (16:30 UTC); 06:30 WIB on the 6th is 23:30 UTC on the 5th
            minute(wib("2026-11-05T23:30"), occupancy_max=2, occupancy_mean=1.0, visits=3,
                   peak_ts=wib("2026-11-05T23:30")),
            minute(wib("2026-11-06T06:30"), occupancy_max=9, occupancy_mean=4.5, visits=4,
                   peak_ts=wib("2026-11-06T06:30") + 30),
            minute(wib("2026-12-01T00:00"), visits=50),  # the next month: not in November's package
        ])
        store.refresh_rollups("Asia/Jakarta", now=wib("2030-01-01T00:00"))
        yield store
    if schema:
        import psycopg

        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def read_csv(package) -> list[dict]:
    meta = json.loads(package.read_text())
    with (package.parent / meta["resources"][0]["path"]).open(newline="") as f:
        return list(csv.DictReader(f))


def test_visits_package_is_valid_and_says_what_the_store_says_per_local_day(store, tmp_path):
    period = parse_period("2026-11", WIB)
    package = export(store, "visits", period, tmp_path / "out", REPORTS, created=wib("2026-12-01T01:00"))
    assert validate_package(package) == []
    rows = read_csv(package)
    assert [(r["date"], r["visits"]) for r in rows] == [("2026-11-05", "8"), ("2026-11-06", "4")]
    fifth = rows[0]
    assert fifth == {"site": "simpang-lima", "title": "Simpang Lima", "date": "2026-11-05", "visits": "8", "in": "6",
                     "out": "1", "peak_occupancy": "7", "peak_at": "2026-11-05T10:00:20+07:00",
                     "dwell_mean_s": "150.0", "dwell_median_s": fifth["dwell_median_s"]}
    assert 60 <= float(fifth["dwell_median_s"]) <= 300
    assert rows[1]["peak_at"] == "2026-11-06T06:30:30+07:00"  # when its one area zone was fullest
    # every cell is the store's own answer, formatted
    answer = store.visits(start=period.start, end=period.end, bucket="day", timezone="Asia/Jakarta")
    assert [(r["date"], int(r["visits"]), int(r["in"]), int(r["peak_occupancy"])) for r in rows] == [
        (datetime.fromtimestamp(a.start, WIB).date().isoformat(), a.visits, a.in_count, a.occupancy_max)
        for a in answer]


def test_package_metadata_states_licence_producer_area_period_and_time_zone(store, tmp_path):
    period = parse_period("2026-11", WIB)
    meta = json.loads(export(store, "visits", period, tmp_path, REPORTS, created=wib("2026-12-01T01:00")).read_text())
    assert meta["name"] == "matakota-visits-2026-11"
    assert meta["licenses"][0]["name"] == "CC-BY-4.0"
    assert meta["contributors"] == [{"title": "Pemerintah Kota Semarang", "role": "publisher"}]
    assert meta["spatialCoverage"]["areaCode"] == "3374" and meta["spatialCoverage"]["sites"] == ["simpang-lima"]
    assert meta["temporalCoverage"] == {"start": "2026-11-01T00:00:00+07:00", "end": "2026-12-01T00:00:00+07:00"}
    assert meta["timezone"] == "Asia/Jakarta" and meta["created"] == "2026-12-01T01:00:00+07:00"
    fields = {f["name"]: f for f in meta["resources"][0]["schema"]["fields"]}
    assert (fields["visits"]["type"], fields["visits"]["unit"]) == ("integer", "people")
    assert (fields["dwell_mean_s"]["unit"], fields["peak_at"]["type"]) == ("seconds", "datetime")


def test_counts_package_per_hour_lists_each_zone_and_line(store, tmp_path):
    period = parse_period("2026-11-05", WIB)
    package = export(store, "counts", period, tmp_path, REPORTS, bucket="hour")
    assert package.parent.name == "matakota-counts-hourly-2026-11-05"
    assert validate_package(package) == []
    rows = read_csv(package)
    assert [(r["start"], r["kind"], r["name"], r["visits"], r["in"]) for r in rows] == [
        ("2026-11-05T10:00:00+07:00", "line", "gate", "0", "6"),
        ("2026-11-05T10:00:00+07:00", "zone", "plaza", "5", "0"),
        ("2026-11-05T23:00:00+07:00", "zone", "plaza", "3", "0")]
    assert rows[0]["end"] == "2026-11-05T11:00:00+07:00" and rows[0]["date"] == "2026-11-05"


def test_an_invalid_cell_fails_validation(tmp_path):
    period = parse_period("2026-11", WIB)
    row = {name: None for name in DATASETS["visits"].names}
    package = write_package(tmp_path, "visits", period, [{**row, "site": "x", "date": "5 Nov", "visits": -1}],
                            REPORTS.open_data)
    problems = validate_package(package)
    assert any("date" in p for p in problems) and any("visits" in p for p in problems)


def evidence_laden_events() -> list[dict]:
    """A parking violation (a plate and the car's position in its payload and key), an intrusion (track ids), and
    each with its box and snapshots."""
    start = wib("2026-11-05T08:00")
    parking = [Event(EventType.PARKING_VIOLATION, "slm-001", "simpang-lima", "bahu-jalan@640,480", state, start, end,
                     payload={"zone": "bahu-jalan", "plate": PLATE, "limit_s": 300}, box=(600, 400, 680, 520))
               for state, end in ((EventState.STARTED, None), (EventState.ENDED, start + 754.5))]
    intrusion = Event(EventType.INTRUSION, "slm-001", "simpang-lima", "pagar", EventState.RAISED, start + 3600,
                      payload={"zone": "pagar", "tracker_ids": [4711], "count": 1}, box=(1, 2, 3, 4))
    return [{**e.to_json(), "snapshot_jpeg": b"\xff\xd8jpeg", "crop_jpeg": b"\xff\xd8crop"}
            for e in (*parking, intrusion)]


def test_events_export_has_incidents_and_nothing_personal(tmp_path):
    with open_store(tmp_path / "matakota.db") as store:
        events, snapshots = split_evidence(evidence_laden_events())
        store.write(events=events, snapshots=snapshots)
        assert all(e["snapshot"] and e["box"] for e in store.events().items)  # the store holds them …
        period = parse_period("2026-11", WIB)
        package = export(store, "events", period, tmp_path / "out", REPORTS)
        assert validate_package(package) == []
    rows = read_csv(package)
    assert list(rows[0]) == ["type", "camera", "site", "zone", "start", "end", "duration_s"]
    assert rows == [
        {"type": "parking_violation", "camera": "slm-001", "site": "simpang-lima", "zone": "bahu-jalan",
         "start": "2026-11-05T08:00:00+07:00", "end": "2026-11-05T08:12:34+07:00", "duration_s": "754.5"},
        {"type": "intrusion", "camera": "slm-001", "site": "simpang-lima", "zone": "pagar",
         "start": "2026-11-05T09:00:00+07:00", "end": "", "duration_s": ""}]
    published = package.parent.joinpath(json.loads(package.read_text())["resources"][0]["path"]).read_text()
    for personal in (PLATE, "plate", "4711", "tracker", "640,480", ".jpg", "snapshot", "box", "payload"):
        assert personal not in published  # … the package does not
    for value in (PLATE, "4711", "640,480", ".jpg"):
        assert value not in package.read_text()


def test_a_row_with_an_unlisted_field_is_refused(tmp_path):
    period = parse_period("2026-11", WIB)
    row = {"type": "intrusion", "camera": "c", "site": "s", "zone": "z", "start": "2026-11-05T09:00:00+07:00",
           "end": None, "duration_s": None}
    with pytest.raises(OpenDataError, match="snapshot"):
        write_package(tmp_path, "events", period, [{**row, "snapshot": "x.jpg"}], REPORTS.open_data)


def test_rows_helpers_read_only_the_period(store):
    december = parse_period("2026-12", WIB)
    assert [r["visits"] for r in visit_rows(store, december, {})] == [50]
    assert event_rows(store, december) == []


def test_a_year_reads_month_by_month_and_a_big_day_camera_by_camera(store, monkeypatch):
    assert [r["date"] for r in visit_rows(store, parse_period("2026", WIB), {})] == [
        "2026-11-05", "2026-11-06", "2026-12-01"]
    store.write(counts=[CountRecord("slm-002", "simpang-lima", "zone", "plaza", wib("2026-11-05T12:00"),
                                    wib("2026-11-05T12:01"), 60, visits=1)])
    store.refresh_rollups("Asia/Jakarta", now=wib("2030-01-01T00:00"))
    monkeypatch.setattr("matakota.store.sql.MAX_COUNT_ROWS", 2)  # the day's 3 rows are over the cap at once
    rows = list(count_rows(store, parse_period("2026-11-05", WIB)))
    assert [(r["camera"], r["kind"], r["visits"]) for r in rows] == [
        ("slm-001", "line", 0), ("slm-001", "zone", 8), ("slm-002", "zone", 1)]
