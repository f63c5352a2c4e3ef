"""Reports benchmark on PostgreSQL at city scale: a year of roll-ups for 10,417 cameras, then the reports people ask
for, each against a plain scan of the same rows in the same run.

    .venv/bin/python -m loadtest.bench_reports [--cameras 10417] [--cameras-per-site 5] [--repeat 5] [--quick]

Rows are generated inside PostgreSQL (generate_series), as the EventSink's roll-ups would leave them for 2026:
per camera one zone and one line, a row per local day and month (10,417 × 2 × 365 days ≈ 7.6 M); per site a row per
local hour, day and month (hours for every site over November, and for the benchmarked site over the whole year);
for the city (the sites added up) a row per hour, day and month.
Camera-hour rows are left out (182 M for a year: they serve per-camera hour queries, which read a camera's own
rows by index and are not what is benchmarked here). Then one site's November of 1-minute counts, to time the same
report straight from the minutes (what a query reads for hours not yet rolled up). Last, the city's current hour
dirty: an hour of every camera's minutes (10,417 × 2 × 60 ≈ 1.25 M rows), timed as the city-wide month report that
reads it from the minutes and as `refresh_rollups` of that hour (the hour, its local day and month rebuilt).

Each report is timed (median of --repeat) beside a plain scan of the rows it reads (`SELECT *` with the same WHERE,
fetched); the ratio is report time / scan time. PostgreSQL runs in a throwaway schema of MATAKOTA_BENCH_PG (default the
local `test` database), dropped after.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import uuid

from matakota.core.calendar import parse_period, zone
from matakota.store import open_store
from matakota.store.reports import visit_report
from matakota.store.rollups import ADDED, DWELL_COLUMNS, ROLLUP_COLUMNS

PG = os.environ.get("MATAKOTA_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
TZ = "Asia/Jakarta"
SITE = "site-00003"
DIRTY_HOUR = "2026-11-30 23:00+07"  # the city's current hour in the dirty-hour rows
SITE_ROWS = "camera = '*' AND kind = 'site' AND start_ts >= %s AND start_ts < %s"
CITY_ROWS = "camera = '*' AND kind = 'city' AND start_ts >= %s AND start_ts < %s"


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def _rows_sql(level: str, step: str, first: str, last: str, who: str, extra: str = "") -> str:
    """INSERT … SELECT of roll-up rows: `who` gives (site, camera, kind, name) per generated row."""
    dwell = ", ".join("(random() * 3)::int" for _ in DWELL_COLUMNS)
    return (f"INSERT INTO rollups ({', '.join(ROLLUP_COLUMNS)}) SELECT '{level}', {who}, extract(epoch FROM t), "
            f"extract(epoch FROM t + interval '{step}'), 600, (random() * 40)::int, "
            f"extract(epoch FROM t) + (random() * 3600)::int, random() * 10, (random() * 900)::int, "
            f"(random() * 300)::int, (random() * 300)::int, {len(DWELL_COLUMNS)}, random() * 20000, {dwell} "
            f"FROM generate_series(timestamptz '{first}', timestamptz '{last}', interval '{step}') AS t{extra}")


def _minutes_sql(camera: str, site: str, first: str, last: str, cameras: str) -> str:
    """INSERT … SELECT of 1-minute counts, a zone and a line per camera of `cameras` (a FROM item naming c)."""
    columns = ("id", "camera", "site", "kind", "name", "start_ts", "end_ts", "samples", "occupancy_max",
               "occupancy_mean", "peak_ts", *ADDED)
    return (f"INSERT INTO counts ({', '.join(columns)}) SELECT md5({camera} || k.kind || t::text), {camera}, {site}, "
            "k.kind, k.name, extract(epoch FROM t), extract(epoch FROM t) + 60, 10, (random() * 40)::int, "
            "random() * 10, extract(epoch FROM t) + 30, (random() * 15)::int, (random() * 5)::int, "
            "(random() * 5)::int, 1, random() * 600, " + ", ".join("(random() * 0.2)::int" for _ in DWELL_COLUMNS)
            + f" FROM generate_series(timestamptz '{first}', timestamptz '{last}', interval '1 minute') AS t, "
            f"{cameras}, (VALUES ('zone', 'plaza'), ('line', 'gate')) AS k(kind, name)")


def generate(store, cameras: int, per_site: int, raw_cameras: int = 5) -> dict[str, float]:
    """Fill the schema's roll-ups (and one site's minutes, of `raw_cameras`); returns rows and seconds."""
    sites = (cameras + per_site - 1) // per_site
    camera_rows = ("'site-' || lpad((c / " + str(per_site) + ")::text, 5, '0'), 'cam-' || lpad(c::text, 5, '0'), "
                   "k.kind, k.name")
    site_rows = "'site-' || lpad(s::text, 5, '0'), '*', 'site', ''"
    city_rows = "'*', '*', 'city', ''"
    cams = f", generate_series(0, {cameras - 1}) AS c, (VALUES ('zone', 'plaza'), ('line', 'gate')) AS k(kind, name)"
    every_site = f", generate_series(0, {sites - 1}) AS s"
    year = ("2026-01-01 00:00+07", "2026-12-31 00:00+07")
    statements = [
        _rows_sql("day", "1 day", *year, camera_rows, cams),
        _rows_sql("month", "1 month", "2026-01-01 00:00+07", "2026-12-01 00:00+07", camera_rows, cams),
        _rows_sql("day", "1 day", *year, site_rows, every_site),
        _rows_sql("month", "1 month", "2026-01-01 00:00+07", "2026-12-01 00:00+07", site_rows, every_site),
        _rows_sql("hour", "1 hour", "2026-11-01 00:00+07", "2026-11-30 23:00+07", site_rows, every_site),
        _rows_sql("hour", "1 hour", "2026-01-01 00:00+07", "2026-10-31 23:00+07", f"'{SITE}', '*', 'site', ''"),
        _rows_sql("hour", "1 hour", "2026-12-01 00:00+07", "2026-12-31 23:00+07", f"'{SITE}', '*', 'site', ''"),
        _rows_sql("hour", "1 hour", "2026-01-01 00:00+07", "2026-12-31 23:00+07", city_rows),
        _rows_sql("day", "1 day", *year, city_rows),
        _rows_sql("month", "1 month", "2026-01-01 00:00+07", "2026-12-01 00:00+07", city_rows),
    ]
    minutes = _minutes_sql("'raw-' || c", "'raw-site'", "2026-11-01 00:00+07", "2026-11-30 23:59+07",
                           f"generate_series(0, {raw_cameras - 1}) AS c")
    t = time.perf_counter()
    with store._lock, store._transaction():
        store._execute("SET LOCAL synchronous_commit = off")
        for sql in statements:
            store._execute(sql)
        store._execute(minutes)
        store._execute("INSERT INTO rollup_state (id, timezone) VALUES (1, %s)", (TZ,))
    store._execute("ANALYZE")
    [(rollups,)] = store._read("SELECT count(*) FROM rollups")
    [(raw,)] = store._read("SELECT count(*) FROM counts")
    return {"rollup rows": rollups, "minute rows": raw, "sites": sites, "fill s": time.perf_counter() - t}


def scan(store, where: str, params: tuple, table: str = "rollups") -> int:
    """A plain SELECT of the same rows, fetched: what reading them costs at least."""
    return len(store._read(f"SELECT * FROM {table} WHERE {where}", params))


def month_report_rows() -> list[tuple[str, tuple]]:
    """The roll-up rows the city-wide report of 2026-11 reads: its days and hours, each site's month, October."""
    november = parse_period("2026-11", zone(TZ))
    return [(f"level = 'day' AND {CITY_ROWS}", (november.start, november.end)),
            (f"level = 'hour' AND {CITY_ROWS}", (november.start, november.end)),
            (f"level = 'month' AND {SITE_ROWS}", (november.start, november.end)),
            (f"level = 'month' AND {CITY_ROWS}", (november.previous().start, november.previous().end))]


def bench(store, repeat: int, raw_cameras: int = 5) -> list[tuple[str, float, float, int]]:
    """(what, seconds, plain-scan seconds, rows it reads) per report."""
    tz = zone(TZ)
    november, year = parse_period("2026-11", tz), parse_period("2026", tz)
    out = []
    cases = [
        ("city-wide month report (2026-11, all sites)", lambda: visit_report(store, november), month_report_rows()),
        ("city-wide year by month (store.visits, all sites added up)",
         lambda: store.visits(start=year.start, end=year.end, bucket="month", timezone=TZ, per_site=False),
         [(f"level = 'month' AND {CITY_ROWS}", (year.start, year.end))]),
        ("every site's month (store.visits, one row per site)",
         lambda: store.visits(start=november.start, end=november.end, bucket="month", timezone=TZ),
         [(f"level = 'month' AND {SITE_ROWS}", (november.start, november.end))]),
        (f"one site's year report ({SITE}, 2026 by month)",
         lambda: visit_report(store, year, [SITE]),
         [(f"level = 'month' AND site = '{SITE}' AND {SITE_ROWS}", (year.start, year.end)),
          (f"level = 'month' AND site = '{SITE}' AND {SITE_ROWS}", (year.previous().start, year.previous().end))]),
        (f"one site's year by day ({SITE}, store.visits)",
         lambda: store.visits(start=year.start, end=year.end, bucket="day", sites=[SITE], timezone=TZ),
         [(f"level = 'day' AND site = '{SITE}' AND {SITE_ROWS}", (year.start, year.end))]),
        ("city-wide counts per camera zone and line, one day",
         lambda: store.counts(start=november.start, end=november.start + 86400, bucket="day", timezone=TZ),
         [("level = 'day' AND camera <> '*' AND start_ts >= %s AND start_ts < %s",
           (november.start, november.start + 86400))]),
    ]
    for what, report, scans in cases:
        seconds, _ = timed(report, repeat)
        scan_s, rows = timed(lambda: sum(scan(store, w, p) for w, p in scans), repeat)
        out.append((what, seconds, scan_s, rows))
    # the same site-month from the minutes (hours not rolled up yet) and from its roll-ups
    raw_s, _ = timed(lambda: store._site_hours("site = %s AND start_ts >= %s AND start_ts < %s",
                                               ["raw-site", november.start, november.end]), repeat)
    minutes = ("site = %s AND start_ts >= %s AND start_ts < %s", ("raw-site", november.start, november.end))
    raw_scan_s, raw_rows = timed(lambda: scan(store, *minutes, table="counts"), repeat)
    out.append((f"one site's month from its minutes ({raw_cameras} cameras, not rolled up)", raw_s, raw_scan_s,
                raw_rows))
    return out


def dirty_hour(store, cameras: int, per_site: int) -> tuple[float, int, float]:
    """One hour of every camera's minutes (a zone and a line each), the hour marked dirty as the EventSink's writes
    leave it: the city's current hour. Returns (its start, minute rows, seconds to generate)."""
    hour = parse_period("2026-11-30", zone(TZ)).end - 3600  # 23:00 WIB on 30 November: the month's last hour
    t = time.perf_counter()
    with store._lock, store._transaction():
        store._execute("SET LOCAL synchronous_commit = off")
        store._execute(_minutes_sql("'cam-' || lpad(c::text, 5, '0')", f"'site-' || lpad((c / {per_site})::text, 5, "
                                    "'0')", DIRTY_HOUR, DIRTY_HOUR.replace(":00+", ":59+"),
                                    f"generate_series(0, {cameras - 1}) AS c"))
        store._execute("INSERT INTO rollup_dirty (hour_start, seq) VALUES (%s, 1)", (hour,))
    store._execute("ANALYZE counts")
    [(rows,)] = store._read("SELECT count(*) FROM counts WHERE start_ts >= %s AND start_ts < %s", (hour, hour + 3600))
    return hour, rows, time.perf_counter() - t


def bench_dirty(store, hour: float, repeat: int) -> list[tuple[str, float, float, int]]:
    """The city-wide month report while its last hour is dirty: from the roll-ups, as reports read (beside a plain
    SELECT of those roll-ups), and from every camera's minutes too; then the roll-up of that hour (the hour, its day
    and its month); the last two beside a plain SELECT of the hour's minutes."""
    tz = zone(TZ)
    november = parse_period("2026-11", tz)
    hour_minutes = ("start_ts >= %s AND start_ts < %s", (hour, hour + 3600))
    scan_s, rows = timed(lambda: scan(store, *hour_minutes, table="counts"), repeat)
    report_s, _ = timed(lambda: visit_report(store, november), repeat)
    rollups_scan_s, rollup_rows = timed(lambda: sum(scan(store, w, p) for w, p in month_report_rows()), repeat)
    live_s, _ = timed(lambda: visit_report(store, november, settled=False), repeat)
    refresh_times = []
    for _ in range(repeat):  # each refresh rolls the hour up again, as a late record would make it
        with store._lock, store._transaction():
            store._execute("INSERT INTO rollup_dirty (hour_start, seq) VALUES (%s, 1) ON CONFLICT (hour_start) "
                           "DO UPDATE SET seq = rollup_dirty.seq + 1", (hour,))
        t = time.perf_counter()
        assert store.refresh_rollups(TZ, now=november.end + 86400) == 1
        refresh_times.append(time.perf_counter() - t)
    return [("city-wide month report, its last hour dirty (roll-ups: counted to it)", report_s, rollups_scan_s,
             rollup_rows),
            ("the same, live: settled=False (every camera's minutes of that hour)", live_s, scan_s, rows),
            ("refresh_rollups of that hour (the hour, its day and month)", statistics.median(refresh_times), scan_s,
             rows)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=10_417)
    parser.add_argument("--cameras-per-site", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="50 cameras, one site's minutes of 1 camera, once: "
                                                             "checks the benchmark runs (seconds), measures nothing")
    args = parser.parse_args(argv)
    cameras, repeat, raw = (50, 1, 1) if args.quick else (args.cameras, args.repeat, 5)
    store = open_store(PG, schema=f"matakota_bench_{uuid.uuid4().hex[:8]}")
    try:
        filled = generate(store, cameras, args.cameras_per_site, raw)
        print(f"PostgreSQL, {platform.machine()} × {os.cpu_count()} cores: {cameras:,} cameras in "
              f"{filled['sites']:,} sites, {filled['rollup rows']:,} roll-up rows and {filled['minute rows']:,} minute "
              f"rows generated in {filled['fill s']:.0f} s", flush=True)
        print(f"{'report':<70} {'ms':>8} {'scan ms':>8} {'ratio':>6} {'rows read':>10}", flush=True)
        for what, seconds, scan_s, rows in bench(store, repeat, raw):
            print(f"{what:<70} {seconds * 1000:>8.1f} {scan_s * 1000:>8.1f} {seconds / scan_s:>6.2f} {rows:>10,}",
                  flush=True)
        hour, minute_rows, fill_s = dirty_hour(store, cameras, args.cameras_per_site)
        print(f"the city's current hour dirty: the minutes of {cameras:,} cameras added in {fill_s:.0f} s, "
              f"{minute_rows:,} minute rows in the hour", flush=True)
        for what, seconds, scan_s, rows in bench_dirty(store, hour, min(repeat, 3)):  # seconds each: 3 at most
            print(f"{what:<70} {seconds * 1000:>8.1f} {scan_s * 1000:>8.1f} {seconds / scan_s:>6.2f} {rows:>10,}",
                  flush=True)
    finally:
        store.drop_schema()
        store.close()


if __name__ == "__main__":
    main()
