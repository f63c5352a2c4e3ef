"""Local calendar buckets and report periods: days, ISO weeks and months start at local midnight in WIB (UTC+7),
so 23:30 WIB is that day, not the next (which it is in UTC)."""

from __future__ import annotations

from datetime import datetime

import pytest

from matakota.core.calendar import boundaries, bucket_start, label, next_start, parse_period, zone

WIB = zone("Asia/Jakarta")


def wib(*args) -> float:
    return datetime(*args, tzinfo=WIB).timestamp()


@pytest.mark.parametrize("moment, bucket, start, name", [
    (wib(2026, 11, 5, 23, 30), "day", wib(2026, 11, 5), "2026-11-05"),  # 16:30 UTC: still the 5th in Semarang
    (wib(2026, 11, 6, 0, 30), "day", wib(2026, 11, 6), "2026-11-06"),  # 17:30 UTC on the 5th: the 6th here
    (wib(2026, 11, 30, 23, 59), "month", wib(2026, 11, 1), "2026-11"),
    (wib(2026, 12, 1, 0, 0), "month", wib(2026, 12, 1), "2026-12"),
    (wib(2026, 11, 8, 23, 0), "week", wib(2026, 11, 2), "2026-W45"),  # a Sunday: the week began on Monday the 2nd
    (wib(2026, 11, 9, 0, 0), "week", wib(2026, 11, 9), "2026-W46"),
    (wib(2027, 1, 1, 12, 0), "week", wib(2026, 12, 28), "2026-W53"),  # ISO: 1 Jan 2027 is in 2026's last week
    (wib(2026, 11, 5, 14, 59), "hour", wib(2026, 11, 5, 14), "2026-11-05T14"),
])
def test_buckets_start_at_local_boundaries(moment, bucket, start, name):
    assert bucket_start(moment, bucket, WIB) == start
    assert label(start, bucket, WIB) == name
    assert next_start(start, bucket, WIB) > moment >= start


def test_boundaries_widen_to_whole_buckets():
    edges = boundaries(wib(2026, 11, 5, 10), wib(2026, 11, 7, 1), "day", WIB)
    assert edges == [wib(2026, 11, 5), wib(2026, 11, 6), wib(2026, 11, 7), wib(2026, 11, 8)]
    months = boundaries(wib(2026, 1, 15), wib(2027, 1, 1), "month", WIB)
    assert len(months) == 13 and months[-1] == wib(2027, 1, 1)


@pytest.mark.parametrize("text, kind, start, end, previous, rows", [
    ("2026-11", "month", wib(2026, 11, 1), wib(2026, 12, 1), "2026-10", "day"),
    ("2026-01", "month", wib(2026, 1, 1), wib(2026, 2, 1), "2025-12", "day"),
    ("2026-W47", "week", wib(2026, 11, 16), wib(2026, 11, 23), "2026-W46", "day"),
    ("2026-W01", "week", wib(2025, 12, 29), wib(2026, 1, 5), "2025-W52", "day"),
    ("2026-11-01", "day", wib(2026, 11, 1), wib(2026, 11, 2), "2026-10-31", "hour"),
    ("2026", "year", wib(2026, 1, 1), wib(2027, 1, 1), "2025", "month"),
])
def test_periods(text, kind, start, end, previous, rows):
    period = parse_period(text, WIB)
    assert (period.kind, period.start, period.end, period.rows) == (kind, start, end, rows)
    assert period.previous().name == previous
    assert period.previous().end == period.start


@pytest.mark.parametrize("text", ["2026-13", "2026-W54", "2026-02-30", "Nov 2026", "26-11", ""])
def test_bad_periods_say_what_is_accepted(text):
    with pytest.raises(ValueError, match=r"period must be a year \(2026\), month \(2026-11\)"):
        parse_period(text, WIB)


def test_zones_whose_days_do_not_start_on_a_utc_hour_are_refused():
    with pytest.raises(ValueError, match="not whole hours"):
        zone("Asia/Kolkata")
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        zone("Asia/Semarang")
    berlin = zone("Europe/Berlin")  # whole hours, with summer time: a day is 23, 24 or 25 UTC hours
    day = bucket_start(datetime(2026, 3, 29, 12, tzinfo=berlin).timestamp(), "day", berlin)
    assert next_start(day, "day", berlin) - day == 23 * 3600
