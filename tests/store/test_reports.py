"""A month's visit report against figures worked out by hand from the counts recorded for it: local days (23:30 WIB
is that day), the counting plan (a camera that double counts is left out), busiest days and hours, dwell, the peak
and the change from the month before; CSV says what JSON says; a report reads the roll-ups and says until when it
counted."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from matakota.analytics.counts import CountRecord
from matakota.config import PlanEntry
from matakota.core.calendar import parse_period, zone
from matakota.store.reports import report_csv, report_markdown, visit_report

WIB = zone("Asia/Jakarta")


def at(*args) -> float:
    return datetime(*args, tzinfo=WIB).timestamp()


def gate(t: float, ins: int, outs: int = 0) -> CountRecord:
    return CountRecord("tugu-gate", "tugu-muda", "line", "entrance", t, t + 60, 60, in_count=ins, out_count=outs,
                       part="run-1")


def square(t: float, visits: int, peak: int = 0, peak_ts: float | None = None, stays=()) -> CountRecord:
    hist = [0] * 12
    for seconds in stays:
        hist[6 if seconds >= 600 else 5] += 1  # 600 s and 300 s stays: bins 600-1200 and 300-600
    return CountRecord("tugu-square", "tugu-muda", "zone", "square", t, t + 60, 60, peak, peak / 2, visits,
                       part="run-1", peak_ts=peak_ts, dwell_count=len(stays), dwell_sum_s=float(sum(stays)),
                       dwell_hist=tuple(hist) if stays else ())


RECORDED = [
    gate(at(2026, 11, 5, 23, 30), 5),  # 23:30 WIB: the 5th, not the 6th
    gate(at(2026, 11, 6, 0, 30), 3),  # 17:30 UTC on the 5th: the 6th in Semarang
    gate(at(2026, 11, 15, 10, 0), 12, 1),
    gate(at(2026, 11, 15, 10, 1), 8, 3),
    square(at(2026, 11, 15, 10, 0), 40, 12, at(2026, 11, 15, 10, 0, 20), stays=(600, 600, 600)),
    square(at(2026, 11, 15, 10, 1), 35, 9, at(2026, 11, 15, 10, 1, 5), stays=(300,)),
    gate(at(2026, 10, 20, 9, 0), 10),  # the month before
    gate(at(2026, 12, 1, 0, 0), 99),  # 17:00 UTC on 30 November: December here, not in this report
    gate(at(2026, 10, 31, 23, 59), 7),  # 16:59 UTC on the 31st: October here
]
PLAN = [PlanEntry("tugu-muda", "tugu-gate", "line", "entrance", True, False),
        PlanEntry("tugu-muda", "tugu-square", "zone", "square", False, True)]


@pytest.fixture
def recorded(store):
    store.write([], RECORDED)
    store.set_counting_plan(PLAN)
    return store


@pytest.fixture
def rolled_up(recorded):
    recorded.refresh_rollups("Asia/Jakarta", now=at(2027, 1, 1))
    return recorded


@pytest.mark.parametrize("settled", [False, True])
def test_month_report_matches_the_hand_worked_figures(recorded, settled):
    if settled:  # from the roll-ups alone (the default); otherwise from the minutes, before any roll-up
        recorded.refresh_rollups("Asia/Jakarta", now=at(2027, 1, 1))
    report = visit_report(recorded, parse_period("2026-11", WIB), ["tugu-muda"], {"tugu-muda": "Tugu Muda"},
                          settled=settled)
    assert (report["from"], report["to"], report["timezone"]) == (
        "2026-11-01T00:00:00+07:00", "2026-12-01T00:00:00+07:00", "Asia/Jakarta")
    totals = report["totals"]
    assert (totals["visits"], totals["in"], totals["out"]) == (28, 28, 4)  # gate in-crossings only: not the 75 zone visits
    assert (totals["peak_occupancy"], totals["peak_at"]) == (12, "2026-11-15T10:00:20+07:00")
    assert totals["dwell_mean_s"] == 525.0  # (3 × 600 + 300) / 4
    assert report["complete"] and report["counted_to"] == report["to"] and report["previous"] == {
        "period": "2026-10", "from": "2026-10-01T00:00:00+07:00", "to": "2026-11-01T00:00:00+07:00", "visits": 17,
        "change_pct": round(100 * (28 - 17) / 17, 1)}
    days = {row["period"]: row["visits"] for row in report["rows"]}
    assert len(days) == 30 and sum(days.values()) == 28  # every day of November, with or without counts
    assert (days["2026-11-05"], days["2026-11-06"], days["2026-11-15"]) == (5, 3, 20)
    assert report["busiest"] == [{"period": "2026-11-15", "visits": 20}, {"period": "2026-11-05", "visits": 5},
                                 {"period": "2026-11-06", "visits": 3}]
    assert report["busiest_hours"] == [{"hour": "10:00-11:00", "visits": 20, "share_pct": 71.4},
                                       {"hour": "23:00-00:00", "visits": 5, "share_pct": 17.9},
                                       {"hour": "00:00-01:00", "visits": 3, "share_pct": 10.7}]
    assert report["by_site"][0]["title"] == "Tugu Muda" and report["by_site"][0]["visits"] == 28


def test_csv_and_markdown_say_what_json_says(rolled_up):
    report = visit_report(rolled_up, parse_period("2026-11", WIB))
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert len(rows) == len(report["rows"]) == 30
    for line, row in zip(rows, report["rows"]):
        assert {k: v for k, v in line.items()} == {k: "" if row[k] is None else str(row[k]) for k in line}
    assert rows[14]["start"] == "2026-11-15T00:00:00+07:00" and rows[14]["visits"] == "20"
    assert {row["timezone"] for row in rows} == {"Asia/Jakarta"}  # a reader of the CSV alone knows the zone
    page = report_markdown(report)
    assert "**Visits**: 28 (+64.7 % on 2026-10)" in page and "| 2026-11-15 | 20 | 20 | 4 | 12 | 8.8 min |" in page


def test_a_day_report_is_by_hour_and_a_year_report_by_month(rolled_up):
    day = visit_report(rolled_up, parse_period("2026-11-15", WIB))
    assert len(day["rows"]) == 24 and day["rows"][10]["visits"] == 20 and day["rows"][10]["period"] == "2026-11-15T10"
    year = visit_report(rolled_up, parse_period("2026", WIB))
    assert [row["visits"] for row in year["rows"]][9:] == [17, 28, 99]
    assert year["previous"]["change_pct"] is None  # no counts in 2025


def test_a_month_under_way_lists_its_days_so_far(rolled_up):
    report = visit_report(rolled_up, parse_period("2026-11", WIB), now=at(2026, 11, 15, 12))
    assert [row["period"] for row in report["rows"]][-1] == "2026-11-15" and len(report["rows"]) == 15
    assert report["totals"]["visits"] == 28  # every count so far


def test_a_month_under_way_is_compared_with_as_much_of_the_month_before(store):
    # October: 10 visits on each of its 31 days at 09:00; November so far (the 15th, 12:30): 10 on each day too
    store.write([], [gate(at(2026, month, day, 9, 0), 10) for month, days in ((10, 31), (11, 15))
                     for day in range(1, days + 1)])
    store.write([], [gate(at(2026, 10, 15, 12, 10), 4), gate(at(2026, 10, 15, 13, 10), 100)])  # before/after 13:00
    store.set_counting_plan(PLAN)
    for settled in (False, True):  # from the minutes, then from the days and hours rolled up
        if settled:
            store.refresh_rollups("Asia/Jakarta", now=at(2026, 11, 15, 12, 30))
        report = visit_report(store, parse_period("2026-11", WIB), now=at(2026, 11, 15, 12, 30), settled=settled)
        assert not report["complete"] and report["totals"]["visits"] == 150
        assert report["previous"] == {"period": "2026-10", "from": "2026-10-01T00:00:00+07:00",
                                      "to": "2026-10-15T13:00:00+07:00", "visits": 154, "change_pct": -2.6}
    assert "(-2.6 % on 2026-10 to 2026-10-15 13:00)" in report_markdown(report)
    whole = visit_report(store, parse_period("2026-10", WIB), now=at(2026, 11, 15, 12, 30))
    assert whole["complete"] and whole["totals"]["visits"] == 414  # the whole of October when it is over


def test_a_report_counts_to_the_first_hour_not_rolled_up_and_compares_to_the_same_point(store):
    """Reports read the roll-ups alone (milliseconds city-wide, never every camera's minutes): the hour under way,
    and one a late record changed, join at the next roll-up; until then the report says where it counted to and
    compares the month before up to the same point."""
    store.set_counting_plan(PLAN)
    store.write([], [gate(at(2026, 10, day, 9, 0), 10) for day in (1, 2, 3)] + [gate(at(2026, 11, 1, 9, 0), 10),
                                                                               gate(at(2026, 11, 2, 9, 0), 10)])
    store.refresh_rollups("Asia/Jakarta", now=at(2026, 11, 2, 11, 0))
    store.write([], [gate(at(2026, 11, 2, 11, 5), 4)])  # the hour under way at 11:30
    november, now = parse_period("2026-11", WIB), at(2026, 11, 2, 11, 30)
    report = visit_report(store, november, now=now)
    assert report["counted_to"] == "2026-11-02T11:00:00+07:00" and report["totals"]["visits"] == 20
    assert (report["previous"]["to"], report["previous"]["visits"]) == ("2026-10-02T11:00:00+07:00", 20)
    assert "counted to 2026-11-02 11:00" in report_markdown(report)
    live = visit_report(store, november, now=now, settled=False)  # from the minutes too: seconds at city scale
    assert live["totals"]["visits"] == 24 and live["counted_to"] == "2026-11-02T11:30:00+07:00"
    store.refresh_rollups("Asia/Jakarta", now=at(2026, 11, 2, 12, 3))  # the hour closed (and settled) at 12:02
    later = visit_report(store, november, now=at(2026, 11, 2, 12, 3))
    assert later["totals"]["visits"] == 24 and later["counted_to"] == "2026-11-02T12:03:00+07:00"
