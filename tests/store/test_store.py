"""The store, on SQLite and PostgreSQL: idempotent batches, roll-ups, paginated events, retention."""

from __future__ import annotations

import random
import threading
import time

import pytest

from matakota.analytics.counts import CountRecord, roll_up
from matakota.core.events import Event, EventState, EventType
from matakota.store import (
    InvalidCursor,
    InvalidQuery,
    InvalidRecord,
    StoreError,
    encode_cursor,
    original_name,
    split_evidence,
)
from matakota.store.sql import migrations

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def minute_counts(camera="cam-1", site="simpang-lima", minutes=180, seed=0, t0=T0):
    rng = random.Random(seed)
    records = []
    for m in range(minutes):
        start = t0 + 60 * m
        records.append(CountRecord(camera, site, "zone", "plaza", start, start + 60, rng.randint(1, 60),
                                   rng.randint(0, 40), round(rng.uniform(0, 20), 3), rng.randint(0, 9)))
        records.append(CountRecord(camera, site, "line", "gate", start, start + 60, rng.randint(1, 60),
                                   in_count=rng.randint(0, 7), out_count=rng.randint(0, 7)))
    return records


def make_events(n, camera="cam-1", site="simpang-lima", t0=T0, kinds=tuple(EventType)):
    return [Event(kinds[i % len(kinds)], camera, site, f"zone-{i % 3}", EventState.STARTED, t0 + 10 * (i // 2),
                  payload={"n": i}, box=(1.0, 2.0, 30.5, 40.0)) for i in range(n)]


def test_schema_is_migrated_once(store_factory):
    store = store_factory()
    latest = max(v for v, _, _ in migrations())
    assert store.schema_version() == latest
    store.write(make_events(2), [])
    again = store_factory()  # reopening applies nothing twice and keeps the data
    assert again.schema_version() == latest
    assert len(again.events().items) == 2


def test_retried_batch_never_duplicates(store):
    events, counts = make_events(10), minute_counts(minutes=30)
    first = store.write(events, counts)
    assert (first.events, first.counts) == (10, 60)
    again = store.write([e.to_json() for e in events], [c.to_json() for c in counts])  # dicts work too
    assert (again.events, again.counts) == (0, 0)
    assert len(store.events(limit=1000).items) == 10
    rows = store.counts(cameras=["cam-1"], start=T0, end=T0 + 86400, bucket="1m")
    assert len(rows) == 60


def test_a_minute_counted_by_two_runs_of_a_camera_adds_up_and_a_resend_does_not_double(store):
    """A camera restarted, moved or changed mid-minute: each run of its analytics counts part of the minute."""
    before = CountRecord("cam-1", "kota-lama", "zone", "plaza", T0, T0 + 60, 30, 4, 2.0, 3, part="run-a")
    after = CountRecord("cam-1", "kota-lama", "zone", "plaza", T0, T0 + 60, 30, 6, 4.0, 2, part="run-b")
    assert store.write([], [before]).counts == 1
    assert store.write([], [after]).counts == 1  # another part of the same minute: kept, not dropped
    assert store.write([], [before, after]).counts == 0  # a resend of either part: nothing new
    [minute] = store.counts(start=T0, end=T0 + 60, bucket="1m", cameras=["cam-1"])
    assert (minute.samples, minute.visits, minute.occupancy_max, minute.occupancy_mean) == (60, 5, 6, 3.0)


def test_a_later_checkpoint_of_a_part_replaces_the_earlier_never_the_reverse(store):
    """A run stores its minute in progress every few seconds, under one id: the record with most samples stays."""
    early = CountRecord("cam-1", "kota-lama", "zone", "plaza", T0, T0 + 60, 10, 2, 1.5, 1, 1, 0, part="run-a")
    later = CountRecord("cam-1", "kota-lama", "zone", "plaza", T0, T0 + 60, 40, 5, 2.5, 4, 3, 1, part="run-a")
    assert store.write([], [early]).counts == 1
    assert store.write([], [later]).counts == 1
    assert store.write([], [early, later]).counts == 0  # resends, in any order, change nothing
    [minute] = store.counts(start=T0, end=T0 + 60, bucket="1m", cameras=["cam-1"])
    assert (minute.samples, minute.occupancy_max, minute.occupancy_mean, minute.visits, minute.in_count,
            minute.out_count) == (40, 5, 2.5, 4, 3, 1)


@pytest.mark.parametrize("bucket, seconds", [("1m", 60), ("1h", 3600), ("hour", 3600)])
def test_counts_roll_up_like_the_analytics(store, bucket, seconds):
    records = minute_counts(minutes=180)
    store.write([], records)
    rows = store.counts(cameras=["cam-1"], start=T0, end=T0 + 86400, bucket=bucket)
    expected = roll_up(records, interval_s=seconds)
    got = {(r.kind, r.name, r.start): r for r in rows}
    assert len(got) == len(expected)
    for e in expected:
        r = got[(e.kind, e.name, e.start)]
        assert (r.end, r.samples, r.occupancy_max, r.visits, r.in_count, r.out_count) == (
            e.end, e.samples, e.occupancy_max, e.visits, e.in_count, e.out_count)
        assert r.occupancy_mean == pytest.approx(e.occupancy_mean, abs=1e-3)


def test_counts_window_is_half_open_and_site_wide(store):
    store.write([], minute_counts("cam-1", "simpang-lima", 120) + minute_counts("cam-2", "simpang-lima", 120, 1)
                + minute_counts("cam-9", "kota-lama", 120, 2))
    rows = store.counts(sites=["simpang-lima"], start=T0 + 3600, end=T0 + 7200, bucket="1h")
    assert {r.camera for r in rows} == {"cam-1", "cam-2"}
    assert all(r.start == T0 + 3600 and r.samples > 0 for r in rows)
    minute = store.counts(cameras=["cam-1"], start=T0, end=T0 + 120, bucket="1m")
    assert sorted({r.start for r in minute}) == [T0, T0 + 60]  # [from, to): the interval at `to` is out


@pytest.mark.parametrize("kwargs, message", [
    ({"cameras": ["cam-1"], "start": T0, "end": T0 + 60, "bucket": "5m"}, "bucket"),
    ({"cameras": ["cam-1"], "start": T0 + 60, "end": T0, "bucket": "1h"}, "before"),
    ({"cameras": ["cam-1"], "start": T0, "end": T0, "bucket": "1h"}, "before"),
    ({"cameras": ["cam-1"], "start": T0, "end": T0 + 86400 * 3650, "bucket": "hour"}, "larger bucket"),
    ({"start": T0, "end": T0 + 86400 * 30, "bucket": "1m"}, "larger bucket"),
])
def test_bad_count_queries_raise(store, kwargs, message):
    with pytest.raises(InvalidQuery, match=message):
        store.counts(**kwargs)


def test_events_paginate_newest_first_without_gaps_or_doubles(store):
    events = make_events(25)  # pairs share a start time: the id breaks the tie
    store.write(events, [])
    seen, cursor, pages = [], None, 0
    while True:
        page = store.events(limit=10, cursor=cursor)
        seen += page.items
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 3
    assert [e["id"] for e in seen] == [e["id"] for e in sorted(
        (e.to_json() for e in events), key=lambda e: (e["start"], e["id"]), reverse=True)]


def test_event_filters(store):
    store.write(make_events(12) + make_events(4, camera="cam-7", site="kota-lama"), [])
    assert {e["type"] for e in store.events(type="flood_level").items} == {"flood_level"}
    assert len(store.events(type=EventType.FLOOD_LEVEL).items) == 4
    assert {e["camera"] for e in store.events(site="kota-lama").items} == {"cam-7"}
    assert len(store.events(camera="cam-1").items) == 12
    window = store.events(camera="cam-1", since=T0 + 10, until=T0 + 30).items
    assert sorted({e["start"] for e in window}) == [T0 + 10, T0 + 20]
    page = store.events(camera="cam-1", limit=5)
    rest = store.events(camera="cam-1", limit=100, cursor=page.next_cursor).items
    assert len(page.items) + len(rest) == 12 and all(e["camera"] == "cam-1" for e in rest)


@pytest.mark.parametrize("cursor", ["not base64!", "", "e30", encode_cursor(1.0, "x")[:-3] + "@@@",
                                    "WyJhIiwgMV0",  # ["a", 1]: wrong types
                                    "WzEuMCwgMiwgM10"])  # [1.0, 2, 3]: wrong arity
def test_malformed_cursor_is_a_clear_value_error(store, cursor):
    with pytest.raises(InvalidCursor, match="malformed cursor") as caught:
        store.events(cursor=cursor)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_limit_outside_the_cap_raises(store, limit):
    with pytest.raises(InvalidQuery, match="limit"):
        store.events(limit=limit)


def test_get_event_round_trips(store):
    event = Event(EventType.FLOOD_LEVEL, "cam-3", "kota-lama", "level-2", EventState.CLEARED, T0, T0 + 95.5,
                  payload={"level_cm": 41.5, "nested": {"a": [1, 2]}}, box=(1.0, 2.0, 3.0, 4.0))
    store.write([event], [])
    got = store.get_event(event.id)
    assert {k: got[k] for k in event.to_json()} == event.to_json()
    assert got["snapshot"] is None
    assert store.get_event("no-such-id") is None


def test_sites_and_cameras_are_known_from_writes(store):
    store.write(make_events(1, camera="cam-2"), minute_counts("cam-1", minutes=1) +
                minute_counts("cam-9", "kota-lama", 1))
    assert store.sites() == ["kota-lama", "simpang-lima"]
    assert store.cameras() == ["cam-1", "cam-2", "cam-9"]
    assert store.cameras("kota-lama") == ["cam-9"]


def test_prune_deletes_old_rows_and_their_snapshots(store):
    old, new = make_events(1, t0=T0)[0], make_events(1, t0=T0 + 86400 * 10)[0]
    rows, snapshots = split_evidence({**e.to_json(), "snapshot_jpeg": b"\xff\xd8full", "crop_jpeg": b"\xff\xd8crop"}
                                     for e in (old, new))
    store.write(rows, minute_counts(minutes=2, t0=T0) + minute_counts(minutes=2, t0=T0 + 86400 * 10), snapshots)
    assert store.snapshot(f"{old.id}.jpg") == b"\xff\xd8full"
    result = store.prune(older_than_s=86400 * 5, now=T0 + 86400 * 11)
    assert (result.events, result.counts, result.snapshots) == (1, 4, 2)
    assert store.get_event(old.id) is None and store.get_event(new.id) is not None
    assert store.snapshot(f"{old.id}.jpg") is None and store.snapshot(f"{old.id}-crop.jpg") is None
    assert store.snapshot(store.get_event(new.id)["snapshot_crop"]) == b"\xff\xd8crop"


def test_unblurred_originals_are_pruned_sooner_than_the_blurred_images(store):
    """Originals (people unblurred, enforcement only) keep for store.original_retention_days, the rest longer."""
    old, new = make_events(1, t0=T0)[0], make_events(1, t0=T0 + 86400 * 10)[0]
    rows, snapshots = split_evidence({**e.to_json(), "snapshot_jpeg": b"\xff\xd8blurred", "crop_jpeg": b"\xff\xd8c",
                                      "snapshot_original_jpeg": b"\xff\xd8orig", "crop_original_jpeg": b"\xff\xd8oc"}
                                     for e in (old, new))
    store.write(rows, [], snapshots)
    assert store.snapshot(original_name(f"{old.id}.jpg")) == b"\xff\xd8orig"
    result = store.prune(older_than_s=86400 * 30, now=T0 + 86400 * 12, originals_older_than_s=86400 * 7)
    assert (result.events, result.snapshots) == (0, 2)  # the old event's two originals
    assert store.snapshot(original_name(f"{old.id}.jpg")) is None and store.snapshot(f"{old.id}.jpg") == b"\xff\xd8blurred"
    assert store.snapshot(original_name(f"{new.id}-crop.jpg")) == b"\xff\xd8oc"


def test_a_clip_that_comes_after_its_event_is_named_on_it_and_pruned_with_the_originals(store):
    [event] = make_events(1, t0=T0)
    rows, files = split_evidence([{**event.to_json(), "snapshot_jpeg": b"\xff\xd8blurred"}])
    store.write(rows, [], files)
    assert store.get_event(event.id)["clip"] is None
    rows, files = split_evidence([{**event.to_json(), "clip_mp4": b"\x00\x00\x00\x18ftypisom"}])  # cut later
    assert store.write(rows, [], files).events == 0  # the event itself is not written twice
    assert store.get_event(event.id)["clip"] == f"{event.id}.mp4"
    assert store.snapshot(f"{event.id}.mp4") == b"\x00\x00\x00\x18ftypisom"
    store.prune(older_than_s=86400 * 30, now=T0 + 86400 * 8, originals_older_than_s=86400 * 7)
    assert store.snapshot(f"{event.id}.mp4") is None and store.get_event(event.id)["clip"] is None
    assert store.snapshot(f"{event.id}.jpg") == b"\xff\xd8blurred"  # the blurred evidence stays longer


def test_evidence_is_written_once_with_its_event(store):
    [event] = make_events(1)
    rows, snapshots = split_evidence([{**event.to_json(), "snapshot_jpeg": b"\xff\xd8one"}])
    assert rows[0]["snapshot"] == f"{event.id}.jpg" and "snapshot_jpeg" not in rows[0]
    assert store.write(rows, [], snapshots).events == 1
    assert store.write(rows, [], [(f"{event.id}.jpg", event.id, b"\xff\xd8two")]).events == 0  # a resend
    assert store.snapshot(f"{event.id}.jpg") == b"\xff\xd8one" and store.get_event(event.id)["snapshot_crop"] is None


@pytest.mark.parametrize("bad", [{"id": "x"}, {**make_events(1)[0].to_json(), "start": "soon"}])
def test_malformed_records_are_refused_whole(store, bad):
    with pytest.raises(InvalidRecord):
        store.write([make_events(1)[0], bad], [])
    assert store.events().items == []  # nothing of the refused batch was written


def test_postgres_store_reconnects_after_losing_its_connection(store):
    if not hasattr(store, "drop_schema"):
        pytest.skip("PostgreSQL only")
    import psycopg

    with psycopg.connect(store.dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (store._conn.info.backend_pid,))
    with pytest.raises(psycopg.OperationalError):
        store.write(make_events(1), [])  # the batch is not acknowledged: its sender keeps it
    assert store.write(make_events(1), []).events == 1  # the resend reconnects and lands


SLOW_READ = {  # a query that runs about a second on each backend
    "SqliteStore": "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 4000000) "
                   "SELECT count(*) FROM n",
    "PostgresStore": "SELECT pg_sleep(1.0)",
}


def test_a_long_read_never_holds_a_write_back(store):
    """The API's biggest query must not stall the EventSink: a small write lands within ~0.1 s meanwhile."""
    reading = threading.Thread(target=store._read, args=(SLOW_READ[type(store).__name__],))
    started = time.monotonic()
    reading.start()
    time.sleep(0.2)  # the read is under way
    t0 = time.monotonic()
    store.write(make_events(1), [])
    write_s = time.monotonic() - t0
    reading.join()
    assert time.monotonic() - started > 0.6, "the read was not slow enough to show anything"
    assert write_s < 0.1, f"a write waited {write_s:.2f} s for a read"
    assert store.get_event(make_events(1)[0].id) is not None


def test_a_database_from_a_newer_matakota_is_refused(store_factory):
    store = store_factory()
    with store._lock, store._transaction():
        store._execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                       (999, "9999_future.sql", 0.0))
    with pytest.raises(StoreError, match="schema is version 999, newer than this matakota knows"):
        store_factory()
