"""Roll-ups of counts per hour, local day and local month, per camera, per site and for the city, kept fresh
incrementally.

Every write of counts marks its UTC hours dirty (`rollup_dirty`). `refresh_rollups` rebuilds each dirty hour once it
has closed: the camera rows of that hour from the minutes, the site rows from the minutes and the counting plan, the
city's row from the site rows (the busiest site named), then the local day and month the hour lies in from their
hours and days. A query reads the roll-ups before the
oldest dirty hour and the minutes from there on, so an answer is always what the minutes say, however late a record
arrived, and a year of months never reads a minute.

A site's figures follow its counting plan (`counting_plan`, from config `reports.sites`): visits from its entrances
only (a zone's visits, a line's in-crossings), occupancy and dwell from its area zones only; a site without a plan
adds up every zone and line, as cameras that overlap double count. A site's peak occupancy is the most its area
zones held together in one count interval (each zone's most in that interval, added up), at the moment the last of
them reached its most.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import replace

from matakota.config import PlanEntry
from matakota.core.calendar import bucket_start, next_start, zone
from matakota.core.dwell import DWELL_BINS

from . import CountRow, InvalidQuery

DWELL_COLUMNS = tuple(f"dwell_b{i}" for i in range(DWELL_BINS))
ADDED = ("visits", "in_count", "out_count", "dwell_count", "dwell_sum", *DWELL_COLUMNS)  # figures that add up
FIGURES = ("samples", "occupancy_max", "peak_ts", "occupancy_mean", *ADDED)
KEYS = ("site", "camera", "kind", "name")
ROLLUP_COLUMNS = ("level", *KEYS, "start_ts", "end_ts", *FIGURES)
SITE = "*"  # the camera (and "site" the kind) of a site's own rows; the site and camera of the city's
CITY = "city"  # the kind of the city's own rows: the sites added up (naming the busiest)
# the roll-up a bucket is read from
LEVELS = {"hour": "hour", "day": "day", "week": "day", "month": "month", "year": "month"}
SETTLE_S = 120.0  # an hour is rolled up once it closed this long ago (its last records have arrived)
MAX_ROWS = 200_000  # rows one query may read before merging (an InvalidQuery beyond)
# rows of a group as one (GROUP BY …) and, selected from it as g, its FIGURES but the peak time (weighted mean)
SUMS = ("SUM(samples) AS samples, MAX(occupancy_max) AS occupancy_max, SUM(occupancy_mean * samples) AS weighted, "
        + ", ".join(f"SUM({c}) AS {c}" for c in ADDED))
MEAN_AND_ADDED = ("CASE WHEN g.samples > 0 THEN g.weighted / g.samples ELSE 0 END AS occupancy_mean, "
                  + ", ".join("g." + c for c in ADDED))

PLAN_JOIN = ("LEFT JOIN counting_plan p ON p.site = c.site AND p.camera = c.camera AND p.kind = c.kind "
             "AND p.name = c.name LEFT JOIN (SELECT DISTINCT site FROM counting_plan) ps ON ps.site = c.site")
VISITS = "CASE WHEN ps.site IS NULL THEN c.visits WHEN p.visits = 1 THEN c.visits + c.in_count ELSE 0 END"
IN_OUT = "CASE WHEN ps.site IS NULL OR p.visits = 1 THEN c.{} ELSE 0 END"
AREA = ("(CASE WHEN ps.site IS NULL THEN (CASE WHEN c.kind = 'zone' THEN 1 ELSE 0 END) "
        "ELSE COALESCE(p.occupancy, 0) END)")


def figures_row(key: tuple, start: float, end: float, values: Iterable,
                peak_site: str | None = None) -> CountRow:
    """A CountRow from roll-up figures in FIGURES order."""
    samples, occupancy_max, peak_ts, occupancy_mean, visits, ins, outs, dwell_count, dwell_sum, *hist = values
    site, camera, kind, name = key
    return CountRow(camera=camera, site=site, kind=kind, name=name, start=start, end=end, samples=int(samples),
                    occupancy_max=int(occupancy_max), occupancy_mean=round(float(occupancy_mean), 3),
                    visits=int(visits), in_count=int(ins), out_count=int(outs),
                    peak_ts=None if peak_ts is None else float(peak_ts), dwell_count=int(dwell_count),
                    dwell_sum_s=round(float(dwell_sum), 1), dwell_hist=tuple(map(int, hist)), peak_site=peak_site)


def merge(rows: list[CountRow], start: float, end: float) -> CountRow:
    """Rows of one camera's zone (or one site) over shorter buckets as one over [start, end): sums, the highest
    peak (the earliest time it was reached), the samples-weighted mean."""
    first = rows[0]
    if len(rows) == 1:
        return replace(first, start=start, end=end)
    samples = sum(r.samples for r in rows)
    peak = min(rows, key=lambda r: (-r.occupancy_max, math.inf if r.peak_ts is None else r.peak_ts))
    mean = sum(r.occupancy_mean * r.samples for r in rows) / samples if samples else 0.0
    return CountRow(camera=first.camera, site=first.site, kind=first.kind, name=first.name, start=start, end=end,
                    samples=samples, occupancy_max=peak.occupancy_max, occupancy_mean=round(mean, 3),
                    visits=sum(r.visits for r in rows), in_count=sum(r.in_count for r in rows),
                    out_count=sum(r.out_count for r in rows), peak_ts=peak.peak_ts,
                    dwell_count=sum(r.dwell_count for r in rows),
                    dwell_sum_s=round(sum(r.dwell_sum_s for r in rows), 1),
                    dwell_hist=tuple(map(sum, zip(*(r.dwell_hist for r in rows)))), peak_site=peak.peak_site)


def city(rows: list[CountRow], start: float, end: float) -> CountRow:
    """Sites' rows of one time or bucket as the city's: visits, crossings, stays and mean occupancy add up; the peak
    is the busiest site's (named in `peak_site`), since sites peak at different moments."""
    total = merge(rows, start, end)
    busiest = min(rows, key=lambda r: (-r.occupancy_max, math.inf if r.peak_ts is None else r.peak_ts))
    named = busiest.peak_site or (busiest.site if busiest.site != SITE else None)
    return replace(total, site=SITE, camera=SITE, kind=CITY, name="",
                   occupancy_mean=round(sum(r.occupancy_mean for r in rows), 3),
                   peak_site=named if busiest.occupancy_max else None)


class Rollups:
    """The roll-up half of SqlStore (a mixin: it uses the store's connections, transactions and dialect)."""

    # -- what the minutes say, per camera-hour and per site-hour (the refresh writes these; a query reads them
    # for hours not rolled up yet)
    def _camera_hours_sql(self, where: str, peak: bool = True) -> str:
        """SELECT of camera rows per UTC hour (KEYS, b, FIGURES) from the minutes matching `where`."""
        hour = self._bucket_expr(3600)
        grouped = (f"SELECT site, camera, kind, name, {hour} AS b, {SUMS} FROM counts WHERE {where} "
                   f"GROUP BY site, camera, kind, name, {hour}")
        peak_sql = ("(SELECT MIN(m.peak_ts) FROM counts m WHERE m.camera = g.camera AND m.kind = g.kind AND "
                    "m.name = g.name AND m.start_ts >= g.b AND m.start_ts < g.b + 3600 AND "
                    "m.occupancy_max = g.occupancy_max)") if peak else "NULL"
        return (f"SELECT g.site, g.camera, g.kind, g.name, g.b, g.samples, g.occupancy_max, {peak_sql} AS peak_ts, "
                f"{MEAN_AND_ADDED} FROM ({grouped}) g")

    def _site_hours(self, where: str, params: list) -> list[tuple]:
        """Site rows per UTC hour (KEYS, b, FIGURES) from the minutes matching `where`, by the counting plan."""
        cameras = self._camera_hours_sql(where, peak=False)
        added = ", ".join(f"SUM({AREA} * c.{col})" for col in ADDED[3:])
        totals = self._read(
            f"SELECT c.site, c.b, SUM({AREA} * c.samples), SUM({AREA} * c.occupancy_mean), SUM({VISITS}), "
            f"SUM({IN_OUT.format('in_count')}), SUM({IN_OUT.format('out_count')}), {added} "
            f"FROM ({cameras}) c {PLAN_JOIN} GROUP BY c.site, c.b", params)
        # per site and interval: its area zones' most at once, added up, and by when the last of them got there
        minutes = self._read(
            f"SELECT c.site, c.start_ts, SUM({AREA} * c.occupancy_max), MAX(CASE WHEN {AREA} = 1 THEN c.peak_ts END) "
            "FROM (SELECT site, camera, kind, name, start_ts, MAX(occupancy_max) AS occupancy_max, "
            f"MIN(peak_ts) AS peak_ts FROM counts WHERE kind = 'zone' AND {where} "
            f"GROUP BY site, camera, kind, name, start_ts) c {PLAN_JOIN} GROUP BY c.site, c.start_ts", params)
        peaks: dict[tuple, tuple[float, float]] = {}
        for site, start, held, t in minutes:
            key, held = (site, float(start) - float(start) % 3600), float(held or 0)
            t = float(start if t is None else t)
            best = peaks.get(key)
            if best is None or held > best[0] or (held == best[0] and t < best[1]):
                peaks[key] = (held, t)
        rows = []
        for site, b, samples, mean, visits, ins, outs, *dwell in totals:
            held, t = peaks.get((site, float(b)), (0.0, None))
            rows.append((site, SITE, "site", "", float(b), samples or 0, int(held), t if held else None,
                         float(mean or 0), visits or 0, ins or 0, outs or 0, *(d or 0 for d in dwell)))
        return rows

    # -- upkeep
    def set_counting_plan(self, entries: Iterable[PlanEntry]) -> bool:
        """Make the stored counting plan `entries`; True when it changed (every hour still held in minutes is then
        rolled up again, under the new plan; older hours keep the plan they were counted under)."""
        wanted = sorted({(e.site, e.camera, e.kind, e.name, int(e.visits), int(e.occupancy)) for e in entries})
        stored = sorted(tuple(r) for r in self._read("SELECT site, camera, kind, name, visits, occupancy "
                                                     "FROM counting_plan"))
        if wanted == [tuple(r) for r in stored]:
            return False
        with self._lock, self._transaction():
            self._execute("DELETE FROM counting_plan")
            self._executemany("INSERT INTO counting_plan (site, camera, kind, name, visits, occupancy) "
                              "VALUES (?, ?, ?, ?, ?, ?)", wanted)
            self._mark_all_dirty()
        return True

    def _mark_all_dirty(self) -> None:
        self._execute(f"INSERT INTO rollup_dirty (hour_start, seq) SELECT DISTINCT {self._bucket_expr(3600)}, 1 "
                      "FROM counts WHERE 1 = 1 ON CONFLICT (hour_start) DO UPDATE SET seq = rollup_dirty.seq + 1")

    def _mark_dirty(self, starts: Iterable[float]) -> None:
        """Inside the write transaction, before the counts: the hours these records fall in changed."""
        hours = sorted({s - s % 3600 for s in starts})
        self._executemany("INSERT INTO rollup_dirty (hour_start, seq) VALUES (?, 1) ON CONFLICT (hour_start) "
                          "DO UPDATE SET seq = rollup_dirty.seq + 1", [(h,) for h in hours])

    def refresh_rollups(self, timezone: str, now: float | None = None, settle_s: float = SETTLE_S,
                        minutes_since: float | None = None) -> int:
        """Roll up every dirty hour that closed `settle_s` ago, then the local day and month it lies in; recut every
        day and month first when they were cut in another time zone. Hours before `minutes_since` (whose minutes are
        being pruned) are never rebuilt: their marks are dropped. Returns the hours rolled up."""
        tz, now = zone(timezone), time.time() if now is None else now
        stored = self._read("SELECT timezone FROM rollup_state WHERE id = 1")
        if not stored or stored[0][0] != timezone:
            self._recut(timezone)
        if minutes_since is not None:
            with self._lock, self._transaction():
                self._execute("DELETE FROM rollup_dirty WHERE hour_start < ?", (minutes_since - minutes_since % 3600,))
        dirty = self._read("SELECT hour_start, seq FROM rollup_dirty WHERE hour_start + 3600 + ? <= ? "
                           "ORDER BY hour_start", (settle_s, now))
        by_day: dict[float, list[tuple[float, int]]] = defaultdict(list)
        for hour, seq in dirty:
            by_day[bucket_start(float(hour), "day", tz)].append((float(hour), int(seq)))
        for day, hours in by_day.items():
            for hour, _ in hours:  # an hour per transaction: the EventSink's writes wait for one hour's work at most
                with self._lock, self._transaction():
                    self._roll_hour(hour)
            with self._lock, self._transaction():  # the marks go only with the day and month: a crash redoes them
                self._roll_up_level("day", day, next_start(day, "day", tz))
                month = bucket_start(day, "month", tz)
                self._roll_up_level("month", month, next_start(month, "month", tz))
                self._executemany("DELETE FROM rollup_dirty WHERE hour_start = ? AND seq = ?", hours)
        return len(dirty)

    def _roll_hour(self, hour: float) -> None:
        self._execute("DELETE FROM rollups WHERE level = 'hour' AND start_ts = ?", (hour,))
        columns = ", ".join(ROLLUP_COLUMNS)
        where = "start_ts >= ? AND start_ts < ?"
        self._execute(f"INSERT INTO rollups ({columns}) SELECT 'hour', site, camera, kind, name, b, b + 3600, "
                      f"{', '.join(FIGURES)} FROM ({self._camera_hours_sql(where)}) h", (hour, hour + 3600))
        sites = self._site_hours(where, [hour, hour + 3600])
        self._executemany(f"INSERT INTO rollups ({columns}) VALUES ({', '.join('?' * len(ROLLUP_COLUMNS))})",
                          [("hour", *r[:5], r[4] + 3600, *r[5:]) for r in sites])
        if sites:
            self._insert_city("hour", city([figures_row(r[:4], hour, hour + 3600, r[5:]) for r in sites],
                                           hour, hour + 3600))

    def _insert_city(self, level: str, row: CountRow) -> None:
        hist = list(row.dwell_hist) + [0] * (DWELL_BINS - len(row.dwell_hist))
        self._execute(f"INSERT INTO rollups ({', '.join(ROLLUP_COLUMNS)}, peak_site) "
                      f"VALUES ({', '.join('?' * (len(ROLLUP_COLUMNS) + 1))})",
                      (level, SITE, SITE, CITY, "", row.start, row.end, row.samples, row.occupancy_max, row.peak_ts,
                       row.occupancy_mean, row.visits, row.in_count, row.out_count, row.dwell_count, row.dwell_sum_s,
                       *hist, row.peak_site))

    def _roll_up_level(self, level: str, start: float, end: float) -> None:
        """The `level` rows of [start, end) from the level below (hours under a day, days under a month)."""
        below = "hour" if level == "day" else "day"
        self._execute("DELETE FROM rollups WHERE level = ? AND start_ts = ?", (level, start))
        grouped = (f"SELECT site, camera, kind, name, {SUMS} FROM rollups WHERE level = ? AND start_ts >= ? AND "
                   f"start_ts < ? AND kind <> '{CITY}' GROUP BY site, camera, kind, name")
        # each key's earliest time at its highest: the rows below that reached it, in one join (a subquery per key
        # read every site's hours of the day through rollups_camera: 17 s for a city's day on PostgreSQL)
        keys = " AND ".join(f"r.{k} = m.{k}" for k in KEYS)
        by_key = ", ".join(f"r.{k}" for k in KEYS)
        peaks = (f"SELECT {by_key}, MIN(r.peak_ts) AS peak_ts FROM rollups r JOIN ({grouped}) m ON {keys} AND "
                 f"r.occupancy_max = m.occupancy_max WHERE r.level = ? AND r.start_ts >= ? AND r.start_ts < ? "
                 f"GROUP BY {by_key}")
        self._execute(
            f"INSERT INTO rollups ({', '.join(ROLLUP_COLUMNS)}) SELECT ?, g.site, g.camera, g.kind, g.name, ?, ?, "
            f"g.samples, g.occupancy_max, p.peak_ts, {MEAN_AND_ADDED} FROM ({grouped}) g LEFT JOIN ({peaks}) p "
            f"ON {keys.replace('r.', 'p.').replace('m.', 'g.')}",
            (level, start, end, below, start, end, below, start, end, below, start, end))
        # the city's rows below, read in this transaction (a reader would not see the ones just rebuilt)
        parts = [figures_row(r[:4], float(r[4]), float(r[5]), r[6:-1], r[-1]) for r in self._execute(
            f"SELECT {', '.join(KEYS)}, start_ts, end_ts, {', '.join(FIGURES)}, peak_site FROM rollups WHERE "
            f"level = ? AND camera = '{SITE}' AND kind = '{CITY}' AND start_ts >= ? AND start_ts < ?",
            (below, start, end))]
        if parts:
            self._insert_city(level, merge(parts, start, end))

    def _recut(self, timezone: str) -> None:
        """Days and months cut again in `timezone`, from the hours (which do not depend on it)."""
        tz = zone(timezone)
        span = self._read("SELECT MIN(start_ts), MAX(start_ts) FROM rollups WHERE level = 'hour'")[0]
        with self._lock, self._transaction():
            self._execute("DELETE FROM rollups WHERE level IN ('day', 'month')")
            if span[0] is not None:
                for level in ("day", "month"):
                    edge = bucket_start(float(span[0]), level, tz)
                    while edge <= float(span[1]):
                        following = next_start(edge, level, tz)
                        self._roll_up_level(level, edge, following)
                        edge = following
            self._execute("DELETE FROM rollup_state")
            self._execute("INSERT INTO rollup_state (id, timezone) VALUES (1, ?)", (timezone,))

    def prune_rollups(self, level: str, older_than: float) -> int:
        """Delete `level` roll-ups starting before `older_than` (epoch seconds)."""
        with self._lock, self._transaction():
            return self._changed("DELETE FROM rollups WHERE level = ? AND start_ts < ?", (level, older_than))

    # -- reads
    def settled_until(self, start: float, end: float) -> float | None:
        [(hour,)] = self._read("SELECT MIN(hour_start) FROM rollup_dirty WHERE hour_start + 3600 > ? AND "
                               "hour_start < ?", (start, end))
        return None if hour is None else max(start, float(hour))

    def _figures(self, *, start: float, end: float, bucket: str, timezone: str, sites_only: bool,
                 cameras: Collection[str] | None, sites: Collection[str] | None,
                 per_site: bool = True, settled: bool = False) -> list[CountRow]:
        """Rows per key and `bucket` over [start, end) widened to whole buckets: site rows (`sites_only`) or camera
        rows, of the given cameras and sites (None: all); site rows added up across sites unless `per_site` (the
        highest of their peaks, without its time); from the roll-ups alone when `settled`."""
        if sites_only and cameras is not None:
            raise InvalidQuery("a site's figures cover all its cameras: ask for sites, or for cameras' counts")
        tz = zone(timezone)
        edges = _edges(start, end, bucket, tz)
        begin, finish = edges[0], edges[-1]
        level = LEVELS[bucket]
        [(oldest_dirty,)] = self._read("SELECT MIN(hour_start) FROM rollup_dirty")
        [cut] = self._read("SELECT timezone FROM rollup_state WHERE id = 1") or [(None,)]
        fresh_until = finish if oldest_dirty is None or settled else min(finish, max(begin, float(oldest_dirty)))
        if level != "hour" and cut[0] != timezone:  # days and months cut in another zone: read hours
            level = "hour"
        # the coarsest roll-ups that are whole before fresh_until: months, then the days of its month, then the
        # hours of its day (a dirty hour late in a month costs a day's hours, not the month's)
        spans, lo = [], begin
        for lvl in ("month", "day", "hour")[("month", "day", "hour").index(level):]:
            hi = fresh_until if lvl == "hour" else max(lo, min(fresh_until, bucket_start(fresh_until, lvl, tz)))
            spans.append((lvl, lo, hi))
            lo = hi
        filters, params = filter_sql(cameras, sites)
        together = sites_only and not per_site
        # the city's own rows when it is all of it; else sites' rows (added up, or not) or cameras'
        kind, mode = (CITY, "city") if together and sites is None else ("site", "sum" if together else "rows")
        which = f"camera = '{SITE}' AND kind = '{kind}'" if sites_only else f"camera <> '{SITE}'"
        rows: list[CountRow] = []
        for lvl, lo, hi in spans:
            if lo < hi:
                rows += self._rolled_up(f"level = ? AND {which} AND start_ts >= ? AND start_ts < ?{filters}",
                                        (lvl, lo, hi, *params), mode if sites_only else "rows")
        if fresh_until < finish:
            where = f"start_ts >= ? AND start_ts < ?{filters}"
            live = [fresh_until, finish, *params]
            fresh = (self._site_hours(where, live) if sites_only else
                     _bounded(self._read(f"{self._camera_hours_sql(where)} LIMIT ?", (*live, MAX_ROWS + 1))))
            fresh_rows = [figures_row(r[:4], float(r[4]), float(r[4]) + 3600, r[5:]) for r in fresh]
            if together:  # the sites' rows of each hour as the city's, like the roll-ups' sums
                hours: dict[float, list[CountRow]] = defaultdict(list)
                for row in fresh_rows:
                    hours[row.start].append(row)
                fresh_rows = [city(group, t, t + 3600) for t, group in hours.items()]
            rows += fresh_rows
        groups: dict[tuple, list[CountRow]] = defaultdict(list)
        buckets: dict[float, tuple[float, float]] = {}  # a row's start → its bucket (rows share a few starts)
        for row in rows:
            if row.start not in buckets:
                b = bucket_start(row.start, bucket, tz)
                buckets[row.start] = (b, next_start(b, bucket, tz))
            groups[(buckets[row.start], (row.site, row.camera, row.kind, row.name))].append(row)
        out = []
        for ((b, e), _), group in sorted(groups.items(), key=lambda item: (item[0][0], *item[0][1][1:], item[0][1][0])):
            whole = len(group) == 1 and group[0].start == b and group[0].end == e
            out.append(group[0] if whole else merge(group, b, e))
        return out

    def _rolled_up(self, where: str, params: tuple, mode: str) -> list[CountRow]:
        """Roll-up rows matching `where`: as they are (`rows`, `city`), or added up per start across sites (`sum`,
        naming the busiest of them)."""
        if mode in ("rows", "city"):
            rows = _bounded(self._read(f"SELECT {', '.join(KEYS)}, start_ts, end_ts, {', '.join(FIGURES)}, peak_site "
                                      f"FROM rollups WHERE {where} LIMIT ?", (*params, MAX_ROWS + 1)))
            return [figures_row(r[:4], float(r[4]), float(r[5]), r[6:-1], r[-1]) for r in rows]
        sums = self._read(f"SELECT start_ts, SUM(samples), MAX(occupancy_max), NULL, SUM(occupancy_mean), "
                          f"{', '.join(f'SUM({c})' for c in ADDED)} FROM rollups WHERE {where} GROUP BY start_ts",
                          params)
        busiest: dict[float, tuple] = {}  # start → (peak time, site) of the first site to reach the highest peak
        for t, site, peak_ts in self._read(
                f"SELECT start_ts, site, peak_ts FROM rollups WHERE {where} AND (start_ts, occupancy_max) IN "
                f"(SELECT start_ts, MAX(occupancy_max) FROM rollups WHERE {where} GROUP BY start_ts)",
                (*params, *params)):
            candidate = (math.inf if peak_ts is None else float(peak_ts), site)
            busiest[float(t)] = min(busiest.get(float(t), candidate), candidate)
        out = []
        for t, *values in sums:
            row = figures_row((SITE, SITE, CITY, ""), float(t), float(t), values)  # its end: by the caller
            peak_ts, site = busiest.get(float(t), (math.inf, None))
            out.append(replace(row, peak_ts=None if math.isinf(peak_ts) else peak_ts,
                               peak_site=site if row.occupancy_max else None))
        return out


def _bounded(rows: list) -> list:
    if len(rows) > MAX_ROWS:
        raise InvalidQuery(f"the answer would read more than {MAX_ROWS:,} rows: ask for a larger bucket, a shorter "
                           "range, or fewer sites or cameras")
    return rows


def _edges(start: float, end: float, bucket: str, tz) -> list[float]:
    if not (math.isfinite(start) and math.isfinite(end)) or not start < end:
        raise InvalidQuery(f"from ({start}) must be before to ({end})")
    edges = [bucket_start(start, bucket, tz)]
    while edges[-1] < end:
        edges.append(next_start(edges[-1], bucket, tz))
        if len(edges) > 10_081:
            raise InvalidQuery(f"from..to spans over 10,080 buckets of {bucket}: ask for a larger bucket or a "
                               "shorter range")
    return edges


def filter_sql(cameras: Collection[str] | None, sites: Collection[str] | None) -> tuple[str, list]:
    sql, params = "", []
    for column, values in (("camera", cameras), ("site", sites)):
        if values is not None:
            values = sorted(values)
            sql += f" AND {column} IN ({', '.join('?' * len(values))})" if values else " AND 1 = 0"
            params += values
    return sql, params
