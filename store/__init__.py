"""Durable counts, events and water levels: the `Store` interface, its value types and `open_store(url)`.

Two backends share one schema (`migrations/*.sql`, applied at open, tracked in `schema_version`):
SQLite (a file path or `sqlite:///path`; the default, nothing to install) and PostgreSQL
(`postgresql://…` DSN, psycopg 3). Writes are batched and idempotent: rows are keyed by the stable ids of
`Event` and `CountRecord` and inserted with `ON CONFLICT (id) DO NOTHING`, so a retried batch never
duplicates; water-level readings are keyed by camera and time (`ON CONFLICT (camera, t)`). Evidence images are
rows too, written in their event's transaction and pruned with it, so every API replica can serve them (in
Kubernetes, from the one PostgreSQL; never from a pod's own disk). The audit log (`audit_append`, `audit`,
`audit_verify`; store/audit.py) is append-only and hash-chained, and never pruned.

Times are epoch seconds (UTC). Count buckets are the stored minutes (`1m`) or local calendar buckets (`hour`, `day`,
`week`, `month` in the deployment's time zone), read from roll-ups (store/rollups.py); level buckets (`1m` … `1d`)
are aligned to the UTC epoch.
"""

from __future__ import annotations

import base64
import binascii
import json
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matakota.config import is_postgres_url
from matakota.core.calendar import CALENDAR_BUCKETS, DEFAULT_TIMEZONE
from matakota.core.dwell import median_dwell

from .audit import GENESIS, AuditCheck, AuditEntry, AuditPage

COUNT_BUCKETS = ("1m", *CALENDAR_BUCKETS)  # minutes as stored, or local calendar buckets (core/calendar.py)
BUCKET_ALIASES = {"1h": "hour", "1d": "day"}  # earlier names (1d was a UTC day; it is now the local one)
MAX_PAGE = 1000
MAX_BUCKETS = 10_080  # buckets one counts query may span: a week of minutes, a year of hours, 27 years of days
MAX_COUNT_ROWS = 50_000  # rows one counts query may answer (cameras × zones and lines × buckets)
LEVEL_BUCKETS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400}
MAX_LEVEL_READINGS = 10_000  # raw readings one levels query may answer (a bucket answers more)
AUTO_RAW_SPAN_S = 6 * 3600  # `bucket="auto"`: raw readings for ranges up to this long …
AUTO_RAW_READINGS = 2_000  # … holding up to this many readings; else buckets
AUTO_BUCKETS = 1_000  # `bucket="auto"`: the smallest bucket that makes at most this many
ORIGINAL_SUFFIX = ".original.jpg"  # an evidence image's unblurred original: `original_name(name)`
UNCERTAIN = "uncertain"  # a reading's status when the gauge could not be read (its level_cm is None)


class StoreError(Exception):
    """Base of the store's errors."""


class InvalidQuery(StoreError, ValueError):
    """A query argument is out of range (unknown bucket, from ≥ to, limit over the cap…)."""


class InvalidCursor(InvalidQuery):
    """A pagination cursor that this store did not hand out (or that was altered)."""


class InvalidRecord(StoreError, ValueError):
    """An event, count or level record lacks a field or has one of the wrong type."""


ALARM_ACTIONS = ("acknowledged", "resolved")  # what an operator can do about an alarm, once each


class AlreadyHandled(StoreError):
    """The alarm was acknowledged (or resolved) already: `done` says by whom, when, with what comment."""

    def __init__(self, action: str, done: dict) -> None:
        super().__init__(f"already {action} by {done['by']!r}", action, done)
        self.action, self.done = action, done


@dataclass(frozen=True)
class WriteResult:
    events: int  # rows newly inserted (a retried batch inserts 0)
    counts: int
    levels: int = 0


@dataclass(frozen=True)
class PruneResult:
    events: int
    counts: int
    snapshots: int
    levels: int = 0


@dataclass(frozen=True)
class CountRow:
    """One zone or line of one camera over one bucket, rolled up from the stored intervals."""

    camera: str
    site: str
    kind: str
    name: str
    start: float
    end: float
    samples: int
    occupancy_max: int
    occupancy_mean: float
    visits: int
    in_count: int
    out_count: int
    peak_ts: float | None = None  # when occupancy first reached occupancy_max (None: not known)
    dwell_count: int = 0  # zone stays that ended in the bucket …
    dwell_sum_s: float = 0.0  # … their seconds, and how many fell in each bin of core/dwell.DWELL_EDGES
    dwell_hist: tuple[int, ...] = ()
    peak_site: str | None = None  # the city's rows: the site whose peak this is

    @property
    def dwell_mean_s(self) -> float | None:
        return round(self.dwell_sum_s / self.dwell_count, 1) if self.dwell_count else None

    @property
    def dwell_median_s(self) -> float | None:
        return median_dwell(self.dwell_hist)


@dataclass(frozen=True)
class LevelReading:
    """One stored water-level reading of a gauge camera."""

    t: float
    level_cm: float | None  # None when uncertain
    confidence: float
    status: str  # ok | below_range | uncertain (analytics/gauge.py)


@dataclass(frozen=True)
class LevelBucket:
    """A camera's readings over one bucket: min/mean/max of the level over the readings that have one (not
    uncertain); None when every reading of the bucket was uncertain."""

    start: float
    end: float
    readings: int
    uncertain: int
    min_cm: float | None
    mean_cm: float | None
    max_cm: float | None


@dataclass(frozen=True)
class LevelSeries:
    """A camera's water levels over [start, end): raw `readings` (bucket None) or `buckets` of `bucket`."""

    camera: str
    site: str | None  # None when the store holds no reading of the camera
    start: float
    end: float
    bucket: str | None
    readings: list[LevelReading] = field(default_factory=list)
    buckets: list[LevelBucket] = field(default_factory=list)


@dataclass(frozen=True)
class EventPage:
    items: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None  # None on the last page


def encode_cursor(start: float, event_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([start, event_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """(start, id) of the last item of the previous page; InvalidCursor when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        start, event_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidCursor("malformed cursor: pass back the next_cursor of a previous page unchanged") from None
    if isinstance(start, bool) or not isinstance(start, (int, float)) or not isinstance(event_id, str):
        raise InvalidCursor("malformed cursor: pass back the next_cursor of a previous page unchanged")
    return float(start), event_id


class Store(ABC):
    """What the EventSink writes to and the HTTP API reads from. Implementations are thread-safe."""

    @abstractmethod
    def write(self, events: Iterable[Mapping | Any] = (), counts: Iterable[Mapping | Any] = (),
              snapshots: Iterable[tuple[str, str, bytes]] = (), levels: Iterable[Mapping] = ()) -> WriteResult:
        """Insert a batch in one transaction; rows whose id (or name) exists already are skipped. `snapshots` are
        evidence images, (name, event id, JPEG) each, as `split_evidence` makes them. `levels` are water-level
        readings ({camera, site, t, level_cm, confidence, status}); one whose (camera, t) exists is skipped."""

    @abstractmethod
    def counts(self, *, start: float, end: float, bucket: str = "hour", cameras: Collection[str] | None = None,
               sites: Collection[str] | None = None, timezone: str = DEFAULT_TIMEZONE) -> list[CountRow]:
        """Figures per camera, zone or line and bucket over [start, end), of `cameras` and `sites` (None: every one):
        `1m` the stored minutes, or `hour`, `day`, `week`, `month` in `timezone` (the range widened to whole buckets;
        read from the roll-ups, store/rollups.py). Sums of visits, crossings and stays, the highest occupancy and when
        it was first reached, the samples-weighted mean. Bounded: over MAX_BUCKETS buckets or MAX_COUNT_ROWS rows is
        an InvalidQuery saying what to ask."""

    @abstractmethod
    def visits(self, *, start: float, end: float, bucket: str = "day", sites: Collection[str] | None = None,
               timezone: str = DEFAULT_TIMEZONE, per_site: bool = True, settled: bool = False) -> list[CountRow]:
        """Sites' own figures per calendar bucket (camera "*", kind "site"), by their counting plans: visits from
        entrances only, occupancy and dwell from area zones only (store/rollups.py). Not `per_site`: one row per
        bucket, added up across the sites (its peak the highest site's, without its time). `settled`: the roll-ups
        as they stand, never the minutes (milliseconds city-wide; hours changed since their roll-up as last rolled
        up, the hour under way not yet: `settled_until` says from when)."""

    @abstractmethod
    def settled_until(self, start: float, end: float) -> float | None:
        """The start of the first hour in [start, end) whose counts changed since it was rolled up (or that is
        under way), None when there is none: settled figures before it are what the minutes say."""

    @abstractmethod
    def refresh_rollups(self, timezone: str, now: float | None = None, settle_s: float = 120.0,
                        minutes_since: float | None = None) -> int:
        """Roll up the hours whose counts changed (store/rollups.py); the hours rolled up."""

    @abstractmethod
    def levels(self, *, camera: str, start: float, end: float, bucket: str = "auto") -> LevelSeries:
        """A camera's water-level readings with t in [start, end), oldest first: raw (`bucket="raw"`, at most
        MAX_LEVEL_READINGS), per bucket of LEVEL_BUCKETS (at most MAX_BUCKETS), or `"auto"`: raw when the range
        spans at most AUTO_RAW_SPAN_S and holds at most AUTO_RAW_READINGS, else the smallest bucket making at most
        AUTO_BUCKETS. InvalidQuery
        for a bad bucket or range, or an answer over the caps (saying what to ask instead)."""

    @abstractmethod
    def events(self, *, type: str | None = None, camera: str | None = None, site: str | None = None,
               since: float | None = None, until: float | None = None, limit: int = 100,
               cursor: str | None = None, cameras: Collection[str] | None = None,
               acknowledged: bool | None = None) -> EventPage:
        """Events with start in [since, until), newest first, one page at a time (only of `cameras`, when given;
        only of incidents acknowledged or not, when `acknowledged` is given). Each says what operators did about its
        incident: `acknowledged` and `resolved`, each None or {by, at, comment}."""

    @abstractmethod
    def handle_alarm(self, incident_id: str, action: str, by: str, comment: str = "",
                     at: float | None = None) -> dict:
        """Record that `by` acknowledged or resolved an incident ({by, at, comment}); AlreadyHandled when it was."""

    @abstractmethod
    def get_event(self, event_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def snapshot(self, name: str) -> bytes | None:
        """An evidence JPEG by the name an event's `snapshot` or `snapshot_crop` gives."""

    @abstractmethod
    def sites(self) -> list[str]: ...

    @abstractmethod
    def cameras(self, site: str | None = None) -> list[str]: ...

    @abstractmethod
    def prune(self, older_than_s: float, now: float | None = None,
              originals_older_than_s: float | None = None) -> PruneResult:
        """Delete events, counts and water levels older than `older_than_s` seconds, and the events' evidence; the
        unblurred originals of evidence older than `originals_older_than_s`. The audit log is never pruned."""

    @abstractmethod
    def audit_append(self, actor: str, action: str, target: str, detail: Mapping | None = None,
                     remote: str | None = None, t: float | None = None) -> AuditEntry:
        """Append an entry to the audit log (its seq and hash follow the newest row's) and return it. Safe across
        processes: appenders queue on a lock, and one that still finds its seq taken retries on the new newest row.
        `actor` is a token's name, never the token; `detail` a JSON object; `t` defaults to now. InvalidRecord for
        a detail that is not one, StoreError when the append kept colliding."""

    @abstractmethod
    def audit(self, *, since: float | None = None, until: float | None = None, actor: str | None = None,
              action: str | None = None, limit: int = 100, cursor: str | None = None) -> AuditPage:
        """Audit entries with t in [since, until), newest (highest seq) first, one page at a time."""

    @abstractmethod
    def audit_verify(self, expect_head: tuple[int, str] | None = None, chunk: int = 1000) -> AuditCheck:
        """Walk the audit log in seq order, `chunk` rows at a time (never all in memory), and check the hash chain:
        an edited row (its hash no longer matches), a deleted row (a gap in seq), a rewritten row (the next row's
        prev_hash no longer matches) and a replaced first row (prev_hash not the genesis hash) are reported by seq
        and reason. Deleting the newest rows leaves a shorter chain that is intact: that is detectable only against
        a head kept outside the database. The result's head_seq/head_hash are what to keep (`matakota audit verify`
        prints them); `expect_head` (seq, hash) checks a kept one: that row must still be there, with that hash."""

    @abstractmethod
    def schema_version(self) -> int: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def split_evidence(events: Iterable[Mapping]) -> tuple[list[dict], list[tuple[str, str, bytes]]]:
    """Events as shards send them may carry their evidence JPEGs (`snapshot_jpeg`, `crop_jpeg`, people blurred, and
    `snapshot_original_jpeg`, `crop_original_jpeg` unblurred) and their clip (`clip_mp4`, sent again with the event
    once cut): the events with the names of the blurred images instead (`snapshot`, `snapshot_crop`, `clip`), and
    the files as `write` takes them (an original under `original_name` of its blurred one)."""
    out, snapshots = [], []
    for event in events:
        event = dict(event)
        for column, suffix, key in (("snapshot", "", "snapshot_jpeg"), ("snapshot_crop", "-crop", "crop_jpeg")):
            data = event.pop(key, None)
            original = event.pop(key.replace("_jpeg", "_original_jpeg"), None)
            if data is not None:
                event[column] = f"{event.get('id')}{suffix}.jpg"
                snapshots.append((event[column], str(event.get("id")), data))
                if original is not None:
                    snapshots.append((original_name(event[column]), str(event.get("id")), original))
        clip = event.pop("clip_mp4", None)
        if clip is not None:
            event["clip"] = f"{event.get('id')}.mp4"
            snapshots.append((event["clip"], str(event.get("id")), clip))
        out.append(event)
    return out, snapshots


def split_cases(events: Iterable[Mapping]) -> tuple[list[dict], list[dict]]:
    """Events as shards send them, a started parking violation's with its evidence package (`case`: facts and
    `files`): the events without it, and the cases as `write_cases` takes them (actors/case_package.py)."""
    out, cases = [], []
    for event in events:
        event = dict(event)
        case = event.pop("case", None)
        if case is not None:
            cases.append(case)
        out.append(event)
    return out, cases


def original_name(name: str) -> str:
    """The stored name of an evidence image's unblurred original (kept for `store.original_retention_days`)."""
    return name.removesuffix(".jpg") + ORIGINAL_SUFFIX


def open_store(url: str | Path, *, schema: str | None = None) -> Store:
    """A store for a SQLite path (or `sqlite:///path`) or a `postgresql://` DSN, migrated to the latest
    schema. `schema` (PostgreSQL only) puts the tables in that schema, created when missing."""
    url = str(url)
    if is_postgres_url(url):
        from .postgres import PostgresStore

        return PostgresStore(url, schema=schema)
    if schema is not None:
        raise ValueError("schema= applies to PostgreSQL only")
    from .sqlite import SqliteStore

    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    return SqliteStore(Path(path).expanduser())


__all__ = [
    "ALARM_ACTIONS", "AUTO_BUCKETS", "AUTO_RAW_READINGS", "AUTO_RAW_SPAN_S", "BUCKET_ALIASES", "COUNT_BUCKETS",
    "GENESIS", "LEVEL_BUCKETS", "MAX_BUCKETS", "MAX_COUNT_ROWS", "MAX_LEVEL_READINGS", "MAX_PAGE", "ORIGINAL_SUFFIX",
    "UNCERTAIN", "AlreadyHandled", "AuditCheck", "AuditEntry", "AuditPage", "CountRow", "EventPage", "InvalidCursor",
    "InvalidQuery", "InvalidRecord", "LevelBucket", "LevelReading", "LevelSeries", "PruneResult", "Store",
    "StoreError", "WriteResult", "decode_cursor", "encode_cursor", "open_store", "original_name", "split_cases",
    "split_evidence",
]
