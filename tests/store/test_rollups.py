"""Roll-ups (store/rollups.py) on SQLite and PostgreSQL: whatever has been rolled up, an answer is what the minutes
say (checked against sums computed here from the records); late records, new counting plans, a new time zone and
pruned minutes change nothing a reader sees that they should not."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime

import pytest

from matakota.analytics.counts import CountRecord
from matakota.config import PlanEntry
from matakota.core.calendar import bucket_start, zone
from matakota.core.dwell import DWELL_BINS

WIB = zone("Asia/Jakarta")
T0 = datetime(2026, 10, 30, 20, tzinfo=WIB).timestamp()  # a month's edge inside the data
DAYS = 4
FAR = T0 + 86400 * 365  # "now" for a refresh that rolls up everything


def records(seed: int, cameras=(("cam-1", "pasar"), ("cam-2", "pasar"), ("cam-3", "tugu")), days=DAYS,
            t0=T0) -> list[CountRecord]:
    rng = random.Random(seed)
    out = []
    for camera, site in cameras:
        for minute in range(int(days * 1440)):
            if rng.random() < 0.4:
                continue  # cameras down now and then: gaps
            t = t0 + 60 * minute
            hist = [0] * DWELL_BINS
            for _ in range(rng.randrange(3)):
                hist[rng.randrange(DWELL_BINS)] += 1
            out.append(CountRecord(camera, site, "zone", "plaza", t, t + 60, 10, rng.randrange(9), 2.0,
                                   rng.randrange(4), 0, 0, "run-1", t + rng.randrange(60), sum(hist),
                                   30.0 * sum(hist), tuple(hist) if sum(hist) else ()))
            out.append(CountRecord(camera, site, "line", "gate", t, t + 60, 10, 0, 0.0, 0, rng.randrange(3),
                                   rng.randrange(3), "run-1"))
    return out


def truth(recs, bucket: str, key) -> dict:
    """Sums per (key, local bucket) computed straight from the records."""
    sums = defaultdict(lambda: [0, 0, 0, 0, 0])
    for r in recs:
        s = sums[(key(r), bucket_start(r.start, bucket, WIB))]
        s[0] += r.visits
        s[1] += r.in_count
        s[2] += r.out_count
        s[3] = max(s[3], r.occupancy_max)
        s[4] += r.dwell_count
    return dict(sums)


def answers(store, start=T0, end=T0 + DAYS * 86400) -> dict:
    return {bucket: (store.counts(start=start, end=end, bucket=bucket),
                     store.visits(start=start, end=end, bucket=bucket)) for bucket in ("hour", "day", "week", "month")}


@pytest.mark.parametrize("seed", [3, 11])
def test_rolled_up_or_not_the_answer_is_the_minutes(store, seed):
    recs = records(seed)
    store.write([], recs)
    before = answers(store)
    for bucket in ("hour", "day", "week", "month"):
        got = {((r.camera, r.kind), r.start): [r.visits, r.in_count, r.out_count, r.occupancy_max, r.dwell_count]
               for r in before[bucket][0]}
        assert got == {k: v for k, v in truth(recs, bucket, lambda r: (r.camera, r.kind)).items()}
    # part of it rolled up (hours that closed before "now" in the middle of the data), then all of it
    assert 0 < store.refresh_rollups("Asia/Jakarta", now=T0 + 2 * 86400) < DAYS * 24
    assert answers(store) == before
    assert store.refresh_rollups("Asia/Jakarta", now=FAR) > 0
    assert answers(store) == before
    assert store.refresh_rollups("Asia/Jakarta", now=FAR) == 0  # nothing changed since


def test_a_late_record_counts_at_once_and_after_the_next_roll_up(store):
    recs = records(5)
    store.write([], recs)
    store.refresh_rollups("Asia/Jakarta", now=FAR)
    day = datetime(2026, 10, 31, tzinfo=WIB).timestamp()
    [before] = store.visits(start=day, end=day + 86400, bucket="day", sites=["tugu"])
    late = CountRecord("cam-3", "tugu", "zone", "plaza", day + 3600, day + 3660, 10, 40, 20.0, 25, 0, 0, "run-2",
                       day + 3630)
    store.write([], [late])
    [now] = store.visits(start=day, end=day + 86400, bucket="day", sites=["tugu"])
    assert (now.visits, now.occupancy_max, now.peak_ts) == (before.visits + 25, 40, day + 3630)
    store.refresh_rollups("Asia/Jakarta", now=FAR)
    [rolled] = store.visits(start=day, end=day + 86400, bucket="day", sites=["tugu"])
    assert rolled == now
    [month] = store.visits(start=day, end=day + 86400, bucket="month", sites=["tugu"])
    assert month.occupancy_max == 40 and month.peak_ts == day + 3630


def test_a_checkpoint_replaced_by_its_closed_interval_is_counted_once(store):
    t = T0 + 600
    checkpoint = CountRecord("cam-1", "pasar", "zone", "plaza", t, t + 60, 4, 2, 1.0, 3, part="run-1")
    closed = CountRecord("cam-1", "pasar", "zone", "plaza", t, t + 60, 10, 5, 2.0, 7, part="run-1")
    store.write([], [checkpoint])
    store.refresh_rollups("Asia/Jakarta", now=FAR)
    store.write([], [closed, checkpoint])  # the closed interval, and the checkpoint resent: the closed one stays
    store.refresh_rollups("Asia/Jakarta", now=FAR)
    [day] = store.counts(start=t, end=t + 60, bucket="day")
    assert (day.visits, day.samples, day.occupancy_max) == (7, 10, 5)


def test_a_counting_plan_counts_people_seen_by_two_cameras_once(store):
    # cam-1 and cam-2 watch the same square from two sides: both see every visitor; cam-1's gate line counts entries
    store.write([], records(7, cameras=(("cam-1", "pasar"), ("cam-2", "pasar")), days=1))
    span = dict(start=T0, end=T0 + 86400, bucket="month", sites=["pasar"])
    [unplanned] = store.visits(**span)
    zones = {r.camera: r for r in store.counts(start=T0, end=T0 + 86400, bucket="month") if r.kind == "zone"}
    gates = {r.camera: r for r in store.counts(start=T0, end=T0 + 86400, bucket="month") if r.kind == "line"}
    assert unplanned.visits == zones["cam-1"].visits + zones["cam-2"].visits  # no plan: every zone, twice
    assert store.set_counting_plan([PlanEntry("pasar", "cam-1", "line", "gate", True, False),
                                    PlanEntry("pasar", "cam-2", "zone", "plaza", False, True)])
    assert not store.set_counting_plan([PlanEntry("pasar", "cam-1", "line", "gate", True, False),
                                        PlanEntry("pasar", "cam-2", "zone", "plaza", False, True)])
    for _ in range(2):  # the minutes under the new plan, then its roll-ups
        [planned] = store.visits(**span)
        assert (planned.visits, planned.in_count, planned.out_count) == (
            gates["cam-1"].in_count, gates["cam-1"].in_count, gates["cam-1"].out_count)
        assert planned.dwell_count == zones["cam-2"].dwell_count  # dwell and occupancy from the area zone only
        assert planned.occupancy_max == zones["cam-2"].occupancy_max
        store.refresh_rollups("Asia/Jakarta", now=FAR)


def test_roll_ups_outlive_the_minutes_and_a_new_time_zone_recuts_days(store):
    recs = records(9, days=2)
    store.write([], recs)
    store.refresh_rollups("Asia/Jakarta", now=FAR)
    expected = answers(store)
    store.prune(older_than_s=0, now=FAR)
    assert store.counts(start=T0, end=T0 + DAYS * 86400, bucket="1m") == []  # the minutes are gone …
    assert answers(store) == expected  # … the roll-ups answer as before
    late = CountRecord("cam-1", "pasar", "zone", "plaza", T0 + 60, T0 + 120, 10, 1, 1.0, 1, part="x")
    store.write([], [late])  # a record for an hour whose minutes were pruned: never rebuilt from it alone
    store.refresh_rollups("Asia/Jakarta", now=FAR, minutes_since=FAR)
    assert answers(store) == expected
    # the same hours cut into days of another zone (UTC): totals keep, the days move
    utc_days = {r.start: r.visits for r in store.visits(start=T0, end=T0 + 3 * 86400, bucket="day",
                                                         timezone="UTC", per_site=False)}
    store.refresh_rollups("UTC", now=FAR)
    assert {r.start: r.visits for r in store.visits(start=T0, end=T0 + 3 * 86400, bucket="day", timezone="UTC",
                                                    per_site=False)} == utc_days
    assert sum(utc_days.values()) == sum(r.visits for r in recs if r.kind == "zone")
    assert min(utc_days) % 86400 == 0  # UTC midnights


def test_sites_added_up_name_the_busiest_site_rolled_up_or_not(store):
    store.write([], records(13))
    span = dict(start=T0, end=T0 + DAYS * 86400, bucket="day")
    per_site = store.visits(**span)

    def city_days():
        return {r.start: r for r in store.visits(**span, per_site=False)}

    expected = city_days()
    assert sorted(expected) == sorted({r.start for r in per_site})
    for start, total in expected.items():
        sites = [r for r in per_site if r.start == start]
        assert total.visits == sum(r.visits for r in sites) and total.site == "*"
        assert total.occupancy_max == max(r.occupancy_max for r in sites)
        [busiest] = [r for r in sites if r.site == total.peak_site]
        assert (busiest.occupancy_max, busiest.peak_ts) == (total.occupancy_max, total.peak_ts)
    months = {r.start: r.visits for r in store.visits(**{**span, "bucket": "month"}, per_site=False)}
    assert sum(months.values()) == sum(r.visits for r in per_site)
    for now in (T0 + 2 * 86400, FAR):  # half rolled up, then all: the city's days and months are its sites'
        store.refresh_rollups("Asia/Jakarta", now=now)
        assert city_days() == expected
        assert {r.start: r.visits for r in store.visits(**{**span, "bucket": "month"}, per_site=False)} == months


def test_an_hour_of_the_whole_city_is_read_by_index_on_postgres(request, pg_dsn):
    """Rolling up an hour (and reading the city's hours not rolled up yet) filters the minutes on time alone: on
    PostgreSQL that must be an index scan, not a scan of every minute kept (a month of a city's is ~10⁹ rows)."""
    from matakota.store import open_store

    from .conftest import pg_schema

    store = open_store(pg_dsn, schema=pg_schema())
    request.addfinalizer(store.close)
    request.addfinalizer(store.drop_schema)
    with store._lock, store._transaction():  # a day of 200 cameras' minutes, made in the database (fast)
        store._execute("INSERT INTO counts (id, camera, site, kind, name, start_ts, end_ts, samples, occupancy_max, "
                       "occupancy_mean, visits, in_count, out_count) SELECT 'c' || c || '-' || m, 'cam-' || c, "
                       "'site-' || (c / 10), 'zone', 'plaza', ? + 60 * m, ? + 60 * m + 60, 10, 1, 0.5, 1, 0, 0 "
                       "FROM generate_series(0, 199) c, generate_series(0, 1439) m", (T0, T0))
        store._execute("ANALYZE counts")
    hour = T0 + 12 * 3600
    for sql in (store._camera_hours_sql("start_ts >= ? AND start_ts < ?"),  # the refresh's and a city read's
                "SELECT COUNT(*) FROM counts WHERE kind = 'zone' AND start_ts >= ? AND start_ts < ?"):  # site peaks
        plan = "\n".join(r[0] for r in store._read(f"EXPLAIN {sql}", (hour, hour + 3600)))
        assert "counts_start" in plan, plan


def test_a_late_record_late_in_a_month_costs_a_days_hours_not_the_months(store, monkeypatch):
    from matakota.store import rollups

    recs = records(17)
    store.write([], recs)
    store.refresh_rollups("Asia/Jakarta", now=FAR)
    november = T0 + 28 * 3600  # 1 November 00:00 WIB
    late_t = november + 66 * 3600  # 18:00 on the 3rd: the month's earlier hours are rolled up
    store.write([], [CountRecord("cam-3", "tugu", "zone", "plaza", late_t, late_t + 60, 10, 2, 1.0, 5, part="z")])
    month = dict(start=november, end=november + 3600, bucket="month")
    expected = (store.counts(**month), store.visits(**month), store.visits(**month, per_site=False))
    # November's 66 hours before the late one × 6 camera rows are over this cap; its 2 days and 18 hours are not
    monkeypatch.setattr(rollups, "MAX_ROWS", 150)
    assert (store.counts(**month), store.visits(**month), store.visits(**month, per_site=False)) == expected
    [tugu] = [r for r in expected[1] if r.site == "tugu"]
    assert tugu.visits == sum(r.visits for r in recs if r.site == "tugu" and r.kind == "zone"
                              and r.start >= november) + 5
