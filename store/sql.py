"""The SQL both backends share; a backend supplies the connection, placeholders and a few dialect bits."""

from __future__ import annotations

import json
import math
import random
import threading
import time
from abc import abstractmethod
from collections.abc import Collection, Iterable, Mapping
from importlib import resources
from typing import Any

from matakota.core.calendar import CALENDAR_BUCKETS, DEFAULT_TIMEZONE
from matakota.core.dwell import DWELL_BINS

from . import (
    ALARM_ACTIONS,
    AUTO_BUCKETS,
    AUTO_RAW_READINGS,
    AUTO_RAW_SPAN_S,
    BUCKET_ALIASES,
    COUNT_BUCKETS,
    LEVEL_BUCKETS,
    MAX_BUCKETS,
    MAX_COUNT_ROWS,
    MAX_LEVEL_READINGS,
    MAX_PAGE,
    ORIGINAL_SUFFIX,
    UNCERTAIN,
    AlreadyHandled,
    CountRow,
    EventPage,
    InvalidCursor,
    InvalidQuery,
    InvalidRecord,
    LevelBucket,
    LevelReading,
    LevelSeries,
    PruneResult,
    Store,
    StoreError,
    WriteResult,
    decode_cursor,
    encode_cursor,
)
from .audit import AUDIT_COLUMNS, AuditCheck, AuditEntry, AuditPage, canonical, check_chain, new_entry
from .cases import CaseTables
from .rollups import ADDED, DWELL_COLUMNS, Rollups, figures_row, filter_sql

EVENT_COLUMNS = ("id", "incident_id", "type", "camera", "site", "event_key", "state", "start_ts", "end_ts",
                 "payload", "box", "snapshot", "snapshot_crop", "clip")
COUNT_COLUMNS = ("id", "camera", "site", "kind", "name", "start_ts", "end_ts", "samples", "occupancy_max",
                 "occupancy_mean", "visits", "in_count", "out_count", "peak_ts", "dwell_count", "dwell_sum",
                 *DWELL_COLUMNS)
# a part's record with more samples (a later checkpoint, or the closed interval) replaces the one stored
COUNT_UPDATE = ", ".join(f"{c} = excluded.{c}" for c in COUNT_COLUMNS[7:])
LEVEL_COLUMNS = ("camera", "site", "t", "level_cm", "confidence", "status")
MAX_STATUS_CHARS = 32
AUDIT_ATTEMPTS = 8  # an append that finds its seq taken (another process appended first) retries this often
SCHEMA_VERSION_DDL = ("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                      "name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every `NNNN_name.sql` in migrations/, in order."""
    found = []
    for entry in resources.files(__package__).joinpath("migrations").iterdir():
        if entry.name.endswith(".sql") and entry.name[:4].isdigit():
            found.append((int(entry.name[:4]), entry.name, entry.read_text()))
    return sorted(found)


def statements(sql: str) -> list[str]:
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _value(v: Any) -> Any:
    return getattr(v, "value", v)  # str Enums → their value


def _as_dict(record: Mapping | Any) -> Mapping:
    return record if isinstance(record, Mapping) else record.to_json()


def event_row(record: Mapping | Any) -> tuple:
    e = _as_dict(record)
    try:
        box = e.get("box")
        row = (str(e["id"]), str(e["incident_id"]), str(_value(e["type"])), str(e["camera"]), str(e["site"]),
               str(e["key"]), str(_value(e["state"])), float(e["start"]),
               None if e.get("end") is None else float(e["end"]), json.dumps(dict(e.get("payload") or {})),
               None if box is None else json.dumps([float(v) for v in box]), e.get("snapshot"),
               e.get("snapshot_crop"), e.get("clip"))
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidRecord(f"event {e.get('id', '?')!r}: bad or missing field {error}") from None
    if not math.isfinite(row[7]):
        raise InvalidRecord(f"event {row[0]!r}: start is not a finite number")
    return row


def count_row(record: Mapping | Any) -> tuple:
    """A count record as a `counts` row. Peak time and dwell are optional (records of older shards lack them)."""
    c = _as_dict(record)
    try:
        peak = c.get("peak_ts")
        hist = [int(n) for n in c.get("dwell_hist") or ()]
        row = (str(c["id"]), str(c["camera"]), str(c["site"]), str(c["kind"]), str(c["name"]), float(c["start"]),
               float(c["end"]), int(c["samples"]), int(c["occupancy_max"]), float(c["occupancy_mean"]),
               int(c["visits"]), int(c["in_count"]), int(c["out_count"]), None if peak is None else float(peak),
               int(c.get("dwell_count") or 0), float(c.get("dwell_sum_s") or 0.0),
               *(hist + [0] * (DWELL_BINS - len(hist))))
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidRecord(f"count {c.get('id', '?')!r}: bad or missing field {error}") from None
    if not all(math.isfinite(v) for v in (row[5], row[6], row[15], 0.0 if peak is None else row[13])):
        raise InvalidRecord(f"count {row[0]!r}: start, end, peak_ts and dwell_sum_s must be finite numbers")
    if len(hist) > DWELL_BINS or min(row[7:13] + row[14:15] + row[16:]) < 0 or row[15] < 0:
        raise InvalidRecord(f"count {row[0]!r}: counts must be ≥ 0 and dwell_hist at most {DWELL_BINS} bins")
    return row


def level_row(record: Mapping) -> tuple:
    """A water-level reading ({camera, site, t, level_cm, confidence, status}, as `GaugeReading.to_json()` plus
    camera and site; other keys are ignored) as a `levels` row; InvalidRecord says what is wrong."""
    if not isinstance(record, Mapping):
        raise InvalidRecord(f"level: a reading is an object, got {type(record).__name__}")
    r = record
    name = f"level {r.get('camera', '?')!r} at {r.get('t', '?')!r}"
    try:
        camera, site, status = r["camera"], r["site"], r["status"]
        t, confidence, level = float(r["t"]), float(r["confidence"]), r["level_cm"]
        level = None if level is None else float(level)
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidRecord(f"{name}: bad or missing field {error}") from None
    for field_name, value in (("camera", camera), ("site", site), ("status", status)):
        if not isinstance(value, str) or not value:
            raise InvalidRecord(f"{name}: {field_name} must be a non-empty string")
    if len(status) > MAX_STATUS_CHARS:
        raise InvalidRecord(f"{name}: status is over {MAX_STATUS_CHARS} characters")
    if not (math.isfinite(t) and t >= 0):
        raise InvalidRecord(f"{name}: t is not a finite, non-negative epoch time")
    if level is not None and not math.isfinite(level):
        raise InvalidRecord(f"{name}: level_cm is not a finite number (null when uncertain)")
    if not (math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
        raise InvalidRecord(f"{name}: confidence must be within 0..1")
    return camera, site, t, level, confidence, status


def _auto_bucket(span_s: float) -> str:
    """The smallest level bucket that cuts `span_s` into at most AUTO_BUCKETS (else the largest)."""
    return next((name for name, seconds in LEVEL_BUCKETS.items() if math.ceil(span_s / seconds) <= AUTO_BUCKETS),
                list(LEVEL_BUCKETS)[-1])


def _audit_cursor(cursor: str) -> int:
    """The seq an audit page's cursor continues below; InvalidCursor when it is not one of ours."""
    _, seq = decode_cursor(cursor)
    if not (seq.isascii() and seq.isdigit()):
        raise InvalidCursor("malformed cursor: pass back the next_cursor of a previous page unchanged")
    return int(seq)


def event_dict(row: tuple) -> dict[str, Any]:
    e = dict(zip(EVENT_COLUMNS, row))
    return {"id": e["id"], "incident_id": e["incident_id"], "type": e["type"], "camera": e["camera"],
            "site": e["site"], "key": e["event_key"], "state": e["state"], "start": e["start_ts"],
            "end": e["end_ts"], "payload": json.loads(e["payload"]),
            "box": None if e["box"] is None else json.loads(e["box"]),
            "snapshot": e["snapshot"], "snapshot_crop": e["snapshot_crop"], "clip": e["clip"]}


class SqlStore(Rollups, CaseTables, Store):
    """Everything but the connections. SQL is written with `?` placeholders; `param` rewrites them.

    Writes go through one connection, one transaction at a time (`_lock`). Reads never touch it: they run on
    connections of their own (`_reader()`), outside any write transaction, so a long query never holds a write
    back (the EventSink's batches keep flowing while the API answers a year of counts).
    """

    param = "?"

    def __init__(self):
        self._lock = threading.RLock()
        self._conn = self._connect()
        with self._lock:
            self._migrate()

    # -- backend hooks
    @abstractmethod
    def _connect(self): ...

    @abstractmethod
    def _transaction(self):
        """Context manager: one write transaction (serialises concurrent migrators too)."""

    @abstractmethod
    def _reader(self):
        """Context manager: a connection for reads only, not the writer's."""

    @abstractmethod
    def _bucket_expr(self, seconds: int, column: str = "start_ts") -> str:
        """SQL for the start of the `seconds` bucket (UTC-aligned) that `column` (epoch seconds) falls in."""

    def _lock_audit(self) -> None:
        """Inside a write transaction: make other processes' audit appends wait until it ends. SQLite needs nothing
        (BEGIN IMMEDIATE holds the database's write lock)."""

    def _sql(self, sql: str) -> str:
        return sql if self.param == "?" else sql.replace("?", self.param)

    def _execute(self, sql: str, params=()) -> list[tuple]:
        cur = self._conn.cursor()
        try:
            cur.execute(self._sql(sql), params)
            return cur.fetchall() if cur.description else []
        finally:
            cur.close()

    def _executemany(self, sql: str, rows: list[tuple]) -> int:
        if not rows:
            return 0
        cur = self._conn.cursor()
        try:
            cur.executemany(self._sql(sql), rows)
            return max(cur.rowcount, 0)
        finally:
            cur.close()

    def _read(self, sql: str, params=()) -> list[tuple]:
        with self._reader() as conn:
            cur = conn.cursor()
            try:
                cur.execute(self._sql(sql), params)
                return cur.fetchall()
            finally:
                cur.close()

    # -- schema
    def _migrate(self) -> None:
        with self._transaction():
            self._execute(SCHEMA_VERSION_DDL)
            current = self._execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")[0][0]
            known = max((version for version, _, _ in migrations()), default=0)
            if current > known:
                raise StoreError(f"the database's schema is version {current}, newer than this matakota knows "
                                 f"({known}): run the matakota release that wrote it, or a newer one")
            for version, name, sql in migrations():
                if version <= current:
                    continue
                for statement in statements(sql):
                    self._execute(statement)
                self._execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                              (version, name, time.time()))

    def schema_version(self) -> int:
        return int(self._read("SELECT COALESCE(MAX(version), 0) FROM schema_version")[0][0])

    # -- writes
    def write(self, events: Iterable = (), counts: Iterable = (), snapshots: Iterable = (),
              levels: Iterable = ()) -> WriteResult:
        snapshots = [(name, event_id, bytes(data)) for name, event_id, data in snapshots]
        event_rows = [event_row(e) for e in events]
        count_rows = [count_row(c) for c in counts]
        level_rows = [level_row(r) for r in levels]
        cameras = ({(r[3], r[4]) for r in event_rows} | {(r[1], r[2]) for r in count_rows}
                   | {(r[0], r[1]) for r in level_rows})
        now = time.time()
        with self._lock, self._transaction():
            self._executemany("INSERT INTO cameras (camera, site, first_seen) VALUES (?, ?, ?) "
                              "ON CONFLICT (camera) DO NOTHING", [(c, s, now) for c, s in sorted(cameras)])
            n_events = self._executemany(
                f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))}) "
                "ON CONFLICT (id) DO NOTHING", event_rows)
            self._executemany("INSERT INTO snapshots (name, event_id, data) VALUES (?, ?, ?) "
                              "ON CONFLICT (name) DO NOTHING", snapshots)
            # a clip arrives after its event (the shard cuts it once the seconds after the moment have come)
            self._executemany("UPDATE events SET clip = ? WHERE id = ? AND clip IS NULL",
                              [(row[-1], row[0]) for row in event_rows if row[-1] is not None])
            self._mark_dirty(row[5] for row in count_rows)  # first: see Rollups.refresh_rollups
            n_counts = self._executemany(
                f"INSERT INTO counts ({', '.join(COUNT_COLUMNS)}) VALUES ({', '.join('?' * len(COUNT_COLUMNS))}) "
                f"ON CONFLICT (id) DO UPDATE SET {COUNT_UPDATE} WHERE excluded.samples > counts.samples", count_rows)
            n_levels = self._executemany(
                f"INSERT INTO levels ({', '.join(LEVEL_COLUMNS)}) VALUES ({', '.join('?' * len(LEVEL_COLUMNS))}) "
                "ON CONFLICT (camera, t) DO NOTHING", level_rows)
        return WriteResult(events=n_events, counts=n_counts, levels=n_levels)

    def prune(self, older_than_s: float, now: float | None = None,
              originals_older_than_s: float | None = None) -> PruneResult:
        if older_than_s < 0 or (originals_older_than_s or 0) < 0:
            raise InvalidQuery("older_than_s must be ≥ 0")
        now = time.time() if now is None else now
        cutoff = now - older_than_s
        with self._lock, self._transaction():
            n_snapshots = self._changed("DELETE FROM snapshots WHERE event_id IN "
                                        "(SELECT id FROM events WHERE start_ts < ?)", (cutoff,))
            if originals_older_than_s is not None:
                unblurred_cutoff = now - originals_older_than_s  # originals and clips (people unblurred)
                n_snapshots += self._changed(
                    "DELETE FROM snapshots WHERE (name LIKE ? OR name LIKE ?) AND event_id IN "
                    "(SELECT id FROM events WHERE start_ts < ?)", (f"%{ORIGINAL_SUFFIX}", "%.mp4", unblurred_cutoff))
                self._changed("UPDATE events SET clip = NULL WHERE clip IS NOT NULL AND start_ts < ?", (unblurred_cutoff,))
            n_events = self._changed("DELETE FROM events WHERE start_ts < ?", (cutoff,))
            if n_events:  # what operators did about incidents no event is left of
                self._changed("DELETE FROM alarm_actions WHERE incident_id NOT IN (SELECT incident_id FROM events)", ())
            n_counts = self._changed("DELETE FROM counts WHERE end_ts <= ?", (cutoff,))
            n_levels = self._changed("DELETE FROM levels WHERE t < ?", (cutoff,))
        return PruneResult(events=n_events, counts=n_counts, snapshots=n_snapshots, levels=n_levels)

    def _changed(self, sql: str, params) -> int:
        """Run one statement on the writer connection (inside a transaction); the rows it changed."""
        cur = self._conn.cursor()
        try:
            cur.execute(self._sql(sql), params)
            return max(cur.rowcount, 0)
        finally:
            cur.close()

    # -- audit log (store/audit.py: the chain)
    def audit_append(self, actor: str, action: str, target: str, detail: Mapping | None = None,
                     remote: str | None = None, t: float | None = None) -> AuditEntry:
        if detail is not None and not isinstance(detail, Mapping):
            raise InvalidRecord(f"audit entry {action!r}: detail must be a JSON object, got {type(detail).__name__}")
        t = time.time() if t is None else float(t)
        fields = (str(actor), str(action), str(target), dict(detail or {}), None if remote is None else str(remote))
        try:
            new_entry(None, t, *fields)  # a bad detail or time fails here, not inside the transaction
        except ValueError as error:
            raise InvalidRecord(f"audit entry {action!r}: {error}") from None
        for attempt in range(AUDIT_ATTEMPTS):
            with self._lock, self._transaction():
                self._lock_audit()
                last = self._execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
                entry = new_entry(last[0] if last else None, t, *fields)
                row = (entry.seq, entry.t, entry.actor, entry.action, entry.target, canonical(entry.detail),
                       entry.remote, entry.prev_hash, entry.hash)
                if self._changed(f"INSERT INTO audit ({', '.join(AUDIT_COLUMNS)}) VALUES "
                                 f"({', '.join('?' * len(AUDIT_COLUMNS))}) ON CONFLICT (seq) DO NOTHING", row):
                    return entry
            time.sleep(random.uniform(0, 0.005 * 2 ** attempt))  # another process took this seq: follow its row
        raise StoreError(f"audit entry {action!r} not appended: seq taken by other writers {AUDIT_ATTEMPTS} times")

    def audit(self, *, since: float | None = None, until: float | None = None, actor: str | None = None,
              action: str | None = None, limit: int = 100, cursor: str | None = None) -> AuditPage:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidQuery(f"limit must be 1..{MAX_PAGE}, got {limit}")
        if since is not None and until is not None and not since < until:
            raise InvalidQuery(f"since ({since}) must be before until ({until})")
        clauses, params = [], []
        for clause, value in (("actor = ?", actor), ("action = ?", action), ("t >= ?", since), ("t < ?", until)):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        if cursor is not None:
            clauses.append("seq < ?")
            params.append(_audit_cursor(cursor))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._read(f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit {where} ORDER BY seq DESC LIMIT ?",
                          (*params, limit + 1))
        items = [AuditEntry.from_row(r) for r in rows[:limit]]
        more = len(rows) > limit
        return AuditPage(items, encode_cursor(items[-1].t, str(items[-1].seq)) if more else None)

    def audit_verify(self, expect_head: tuple[int, str] | None = None, chunk: int = 1000) -> AuditCheck:
        if chunk < 1:
            raise InvalidQuery(f"chunk must be ≥ 1, got {chunk}")

        def rows():
            after = None
            while True:
                page = self._read(f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit "
                                  f"{'' if after is None else 'WHERE seq > ? '}ORDER BY seq LIMIT ?",
                                  (chunk,) if after is None else (after, chunk))
                yield from page
                if len(page) < chunk:
                    return
                after = page[-1][0]

        return check_chain(rows(), expect_head)

    # -- reads
    def counts(self, *, start: float, end: float, bucket: str = "hour", cameras: Collection[str] | None = None,
               sites: Collection[str] | None = None, timezone: str = DEFAULT_TIMEZONE) -> list[CountRow]:
        bucket = BUCKET_ALIASES.get(bucket, bucket)
        if bucket not in COUNT_BUCKETS:
            raise InvalidQuery(f"bucket must be one of {', '.join(COUNT_BUCKETS)}, got {bucket!r}")
        if bucket != "1m":
            return self._capped(self._figures(start=start, end=end, bucket=bucket, timezone=timezone,
                                              sites_only=False, cameras=cameras, sites=sites))
        if not start < end:
            raise InvalidQuery(f"from ({start}) must be before to ({end})")
        spanned = math.ceil((end - start) / 60)
        if spanned > MAX_BUCKETS:
            raise InvalidQuery(f"from..to spans {spanned:,} minutes; at most {MAX_BUCKETS:,} at once: ask for a larger "
                               f"bucket ({', '.join(COUNT_BUCKETS[1:])}) or a shorter range")
        filters, params = filter_sql(cameras, sites)
        columns = ", ".join(f"SUM({c})" for c in ADDED)
        rows = self._read(
            f"SELECT site, camera, kind, name, start_ts, SUM(samples), MAX(occupancy_max), MIN(peak_ts), "
            f"SUM(occupancy_mean * samples), {columns} FROM counts WHERE start_ts >= ? AND start_ts < ?{filters} "
            "GROUP BY site, camera, kind, name, start_ts ORDER BY start_ts, camera, kind, name LIMIT ?",
            (start, end, *params, MAX_COUNT_ROWS + 1))
        return self._capped([figures_row(tuple(r[:4]), float(r[4]), float(r[4]) + 60,
                                         (r[5], r[6], r[7], float(r[8]) / float(r[5]) if r[5] else 0.0, *r[9:]))
                             for r in rows])

    def visits(self, *, start: float, end: float, bucket: str = "day", sites: Collection[str] | None = None,
               timezone: str = DEFAULT_TIMEZONE, per_site: bool = True, settled: bool = False) -> list[CountRow]:
        if bucket not in CALENDAR_BUCKETS:
            raise InvalidQuery(f"bucket must be one of {', '.join(CALENDAR_BUCKETS)}, got {bucket!r}")
        return self._capped(self._figures(start=start, end=end, bucket=bucket, timezone=timezone, sites_only=True,
                                          cameras=None, sites=sites, per_site=per_site, settled=settled))

    @staticmethod
    def _capped(rows: list[CountRow]) -> list[CountRow]:
        if len(rows) > MAX_COUNT_ROWS:
            raise InvalidQuery(f"the answer has more than {MAX_COUNT_ROWS:,} rows: ask for a larger bucket, a shorter "
                               "range, or fewer sites or cameras")
        return rows

    def levels(self, *, camera: str, start: float, end: float, bucket: str = "auto") -> LevelSeries:
        if bucket not in ("auto", "raw", *LEVEL_BUCKETS):
            raise InvalidQuery(f"bucket must be auto, raw or one of {', '.join(LEVEL_BUCKETS)}, got {bucket!r}")
        if not (math.isfinite(start) and math.isfinite(end)):
            raise InvalidQuery("from and to must be finite epoch times")
        if not start < end:
            raise InvalidQuery(f"from ({start}) must be before to ({end})")
        site = self._read("SELECT site FROM levels WHERE camera = ? ORDER BY t DESC LIMIT 1", (camera,))
        series = {"camera": camera, "site": site[0][0] if site else None, "start": start, "end": end}
        if bucket == "auto" and end - start > AUTO_RAW_SPAN_S:
            bucket = _auto_bucket(end - start)
        if bucket in ("auto", "raw"):
            cap = AUTO_RAW_READINGS if bucket == "auto" else MAX_LEVEL_READINGS
            rows = self._read("SELECT t, level_cm, confidence, status FROM levels WHERE camera = ? AND t >= ? "
                              "AND t < ? ORDER BY t LIMIT ?", (camera, start, end, cap + 1))
            if len(rows) <= cap:
                return LevelSeries(**series, bucket=None, readings=[
                    LevelReading(float(t), None if v is None else float(v), float(c), s) for t, v, c, s in rows])
            if bucket == "raw":
                raise InvalidQuery(f"from..to holds more than {cap:,} readings: ask for a bucket "
                                   f"({', '.join(LEVEL_BUCKETS)}) or a shorter range")
            bucket = _auto_bucket(end - start)
        seconds = LEVEL_BUCKETS[bucket]
        spanned = math.ceil((end - start) / seconds)
        if spanned > MAX_BUCKETS:
            raise InvalidQuery(f"from..to spans {spanned:,} buckets of {bucket}; at most {MAX_BUCKETS:,} at once: "
                               f"ask for a larger bucket ({', '.join(LEVEL_BUCKETS)}) or a shorter range")
        b = self._bucket_expr(seconds, "t")
        known = f"CASE WHEN status <> '{UNCERTAIN}' THEN level_cm END"  # uncertain readings have no level
        rows = self._read(
            f"SELECT {b} AS b, COUNT(*), SUM(CASE WHEN status = '{UNCERTAIN}' OR level_cm IS NULL THEN 1 ELSE 0 END), "
            f"MIN({known}), AVG({known}), MAX({known}) FROM levels WHERE camera = ? AND t >= ? AND t < ? "
            f"GROUP BY {b} ORDER BY b", (camera, start, end))
        return LevelSeries(**series, bucket=bucket, buckets=[
            LevelBucket(float(bs), float(bs) + seconds, int(n), int(u), None if lo is None else float(lo),
                        None if mean is None else round(float(mean), 2), None if hi is None else float(hi))
            for bs, n, u, lo, mean, hi in rows])

    def events(self, *, type: str | None = None, camera: str | None = None, site: str | None = None,
               since: float | None = None, until: float | None = None, limit: int = 100,
               cursor: str | None = None, cameras: Collection[str] | None = None,
               acknowledged: bool | None = None) -> EventPage:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidQuery(f"limit must be 1..{MAX_PAGE}, got {limit}")
        if since is not None and until is not None and not since < until:
            raise InvalidQuery(f"since ({since}) must be before until ({until})")
        clauses, params = [], []
        for column, value in (("type", _value(type)), ("camera", camera), ("site", site)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if cameras is not None:
            if not cameras:
                return EventPage([], None)
            clauses.append(f"camera IN ({', '.join('?' * len(cameras))})")
            params += sorted(cameras)
        if acknowledged is not None:
            clauses.append(f"incident_id {'' if acknowledged else 'NOT '}IN "
                           "(SELECT incident_id FROM alarm_actions WHERE action = 'acknowledged')")
        if since is not None:
            clauses.append("start_ts >= ?")
            params.append(since)
        if until is not None:
            clauses.append("start_ts < ?")
            params.append(until)
        if cursor is not None:
            after_start, after_id = decode_cursor(cursor)
            clauses.append("(start_ts < ? OR (start_ts = ? AND id < ?))")
            params += [after_start, after_start, after_id]
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._read(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events {where} "
                          "ORDER BY start_ts DESC, id DESC LIMIT ?", (*params, limit + 1))
        items = self._with_handling([event_dict(r) for r in rows[:limit]])
        more = len(rows) > limit
        return EventPage(items, encode_cursor(items[-1]["start"], items[-1]["id"]) if more else None)

    def get_event(self, event_id: str) -> dict[str, Any] | None:
        rows = self._read(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE id = ?", (event_id,))
        return self._with_handling([event_dict(rows[0])])[0] if rows else None

    def _with_handling(self, events: list[dict]) -> list[dict]:
        """Each event with what operators did about its incident: `acknowledged`, `resolved` (None or {by, at,
        comment})."""
        incidents = sorted({e["incident_id"] for e in events})
        done: dict[tuple[str, str], dict] = {}
        if incidents:
            rows = self._read("SELECT incident_id, action, by_name, at, comment FROM alarm_actions WHERE incident_id "
                              f"IN ({', '.join('?' * len(incidents))})", incidents)
            done = {(i, a): {"by": by, "at": float(at), "comment": c} for i, a, by, at, c in rows}
        return [{**e, **{action: done.get((e["incident_id"], action)) for action in ALARM_ACTIONS}} for e in events]

    def handle_alarm(self, incident_id: str, action: str, by: str, comment: str = "",
                     at: float | None = None) -> dict:
        if action not in ALARM_ACTIONS:
            raise InvalidQuery(f"action must be one of {', '.join(ALARM_ACTIONS)}, got {action!r}")
        record = {"by": str(by), "at": time.time() if at is None else float(at), "comment": str(comment)}
        with self._lock, self._transaction():
            added = self._changed("INSERT INTO alarm_actions (incident_id, action, by_name, at, comment) VALUES "
                                  "(?, ?, ?, ?, ?) ON CONFLICT (incident_id, action) DO NOTHING",
                                  (incident_id, action, record["by"], record["at"], record["comment"]))
        if not added:
            [(by_name, when, said)] = self._read("SELECT by_name, at, comment FROM alarm_actions WHERE incident_id = ? "
                                                 "AND action = ?", (incident_id, action))
            raise AlreadyHandled(action, {"by": by_name, "at": float(when), "comment": said})
        return record

    def snapshot(self, name: str) -> bytes | None:
        rows = self._read("SELECT data FROM snapshots WHERE name = ?", (name,))
        return bytes(rows[0][0]) if rows else None

    def sites(self) -> list[str]:
        return [r[0] for r in self._read("SELECT DISTINCT site FROM cameras ORDER BY site")]

    def cameras(self, site: str | None = None) -> list[str]:
        if site is None:
            return [r[0] for r in self._read("SELECT camera FROM cameras ORDER BY camera")]
        return [r[0] for r in self._read("SELECT camera FROM cameras WHERE site = ? ORDER BY camera", (site,))]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
