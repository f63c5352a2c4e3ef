"""The audit log, on SQLite and PostgreSQL: a gap-free hash chain under concurrent appenders, pages newest first,
never pruned, and `audit_verify` naming the first edited, deleted or rewritten row."""

from __future__ import annotations

import hashlib
import json
import math
import threading

import pytest

from matakota.store import GENESIS, InvalidCursor, InvalidQuery, InvalidRecord, encode_cursor
from matakota.store.audit import canonical, check_chain, entry_hash, new_entry, parse_head

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def fill(store, n, t0=T0):
    return [store.audit_append(f"token-{i % 3}", "PATCH /v1/cameras/{camera_id}" if i % 2 else "evidence.download",
                               f"cam-{i}", {"query": {"n": str(i)}, "crop": bool(i % 2)}, "10.0.0.7", t=t0 + i)
            for i in range(n)]


def raw(store, sql, params=()):
    """A change made behind the store's back (what an intruder with database access does)."""
    with store._lock, store._transaction():
        return store._changed(sql, params)


def test_entries_chain_each_to_the_one_before(store):
    entries = fill(store, 4)
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == GENESIS == "0" * 64
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    first = entries[0]
    payload = GENESIS + json.dumps([1, T0, "token-0", "evidence.download", "cam-0",
                                    {"crop": False, "query": {"n": "0"}}, "10.0.0.7"], separators=(",", ":"))
    assert first.hash == hashlib.sha256(payload.encode()).hexdigest()  # the documented formula, spelled out
    check = store.audit_verify()
    assert (check.ok, check.rows, check.first_bad_seq, check.head_seq, check.head_hash) == (
        True, 4, None, 4, entries[-1].hash)


def test_an_empty_log_is_intact_with_the_genesis_head(store):
    check = store.audit_verify()
    assert (check.ok, check.rows, check.head_seq, check.head_hash) == (True, 0, 0, GENESIS)
    assert store.audit().items == []


def test_concurrent_appenders_in_threads_and_stores_make_one_gap_free_chain(store_factory):
    stores = [store_factory(), store_factory()]  # two connections to one database: as two API replicas
    errors = []

    def append(k):
        try:
            for i in range(15):
                stores[k % 2].audit_append(f"replica-{k}", "GET /v1/audit", "", {"i": i})
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=append, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check = stores[0].audit_verify(chunk=7)
    assert (check.ok, check.rows, check.head_seq) == (True, 90, 90), check.reason
    assert sorted(e.seq for e in stores[1].audit(limit=1000).items) == list(range(1, 91))


def test_an_append_that_finds_its_seq_taken_follows_the_new_row(store, monkeypatch):
    execute, raced = store._execute, []

    def racing(sql, params=()):  # another replica appends between our read of the newest row and our insert
        rows = execute(sql, params)
        if sql.startswith("SELECT seq, hash FROM audit") and not raced:
            raced.append(new_entry(rows[0] if rows else None, T0, "other", "x", "", {}, None))
            e = raced[0]
            execute("INSERT INTO audit (seq, t, actor, action, target, detail, remote, prev_hash, hash) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (e.seq, e.t, e.actor, e.action, e.target, canonical(e.detail), e.remote, e.prev_hash, e.hash))
        return rows

    monkeypatch.setattr(store, "_execute", racing)
    mine = store.audit_append("me", "evidence.download", "ev-1", t=T0 + 1)
    assert (mine.seq, mine.prev_hash) == (2, raced[0].hash)
    assert [e.actor for e in store.audit().items] == ["me", "other"]
    assert store.audit_verify().ok


def test_an_edited_row_is_named(store):
    fill(store, 6)
    assert raw(store, "UPDATE audit SET detail = ? WHERE seq = ?", ('{"crop":false,"query":{}}', 3)) == 1
    check = store.audit_verify(chunk=2)
    assert (check.ok, check.first_bad_seq, check.rows, check.head_seq) == (False, 3, 2, 2)
    assert "row 3 was changed" in check.reason


def test_an_edited_actor_time_or_remote_is_named(store):
    fill(store, 4)
    raw(store, "UPDATE audit SET actor = ? WHERE seq = ?", ("someone-else", 2))
    assert store.audit_verify().first_bad_seq == 2
    raw(store, "UPDATE audit SET actor = ?, t = ? WHERE seq = ?", ("token-1", T0 + 1.5, 2))
    assert store.audit_verify().first_bad_seq == 2
    raw(store, "UPDATE audit SET t = ?, remote = NULL WHERE seq = ?", (T0 + 1, 2))
    assert store.audit_verify().first_bad_seq == 2
    raw(store, "UPDATE audit SET remote = ? WHERE seq = ?", ("10.0.0.7", 2))
    assert store.audit_verify().ok  # put back as it was: intact again


def test_a_deleted_row_is_named(store):
    fill(store, 6)
    assert raw(store, "DELETE FROM audit WHERE seq = ?", (4,)) == 1
    check = store.audit_verify(chunk=3)
    assert (check.ok, check.first_bad_seq) == (False, 4)
    assert "row 4 is missing" in check.reason
    raw(store, "DELETE FROM audit WHERE seq IN (1, 2)")
    check = store.audit_verify()
    assert (check.first_bad_seq, check.rows) == (1, 0) and "rows 1..2 are missing" in check.reason


def test_a_row_rewritten_with_its_hash_recomputed_breaks_the_next_link(store):
    entries = fill(store, 5)
    e = entries[2]
    forged = entry_hash(e.prev_hash, e.seq, e.t, "innocent", e.action, e.target, e.detail, e.remote)
    raw(store, "UPDATE audit SET actor = ?, hash = ? WHERE seq = ?", ("innocent", forged, 3))
    check = store.audit_verify()
    assert (check.ok, check.first_bad_seq, check.rows) == (False, 4, 3)
    assert "row 3 was rewritten" in check.reason


def test_a_replaced_first_row_is_named(store):
    entries = fill(store, 3)
    e = entries[0]
    other = "f" * 64
    raw(store, "UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = 1",
        (other, entry_hash(other, 1, e.t, e.actor, e.action, e.target, e.detail, e.remote)))
    check = store.audit_verify()
    assert (check.ok, check.first_bad_seq) == (False, 1) and "genesis" in check.reason


def test_deleting_the_newest_rows_is_caught_only_against_a_kept_head(store):
    fill(store, 5)
    kept = store.audit_verify()
    head = (kept.head_seq, kept.head_hash)
    fill(store, 2, t0=T0 + 100)  # the log grows after the head was kept: still fine
    assert store.audit_verify(expect_head=head).ok
    raw(store, "DELETE FROM audit WHERE seq >= ?", (4,))
    assert store.audit_verify().ok  # a shorter chain is intact in itself
    check = store.audit_verify(expect_head=head)
    assert (check.ok, check.first_bad_seq) == (False, 4) and "rows 4..5 are missing" in check.reason
    assert not store.audit_verify(expect_head=(3, "0" * 64)).ok  # the kept row is there but not as kept


def test_pages_newest_first_with_filters_and_a_cursor(store):
    fill(store, 9)
    seen, cursor = [], None
    while True:
        page = store.audit(limit=4, cursor=cursor)
        seen += [e.seq for e in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(range(9, 0, -1))
    assert [e.seq for e in store.audit(actor="token-1").items] == [8, 5, 2]
    assert [e.seq for e in store.audit(action="evidence.download", since=T0 + 2, until=T0 + 7).items] == [7, 5, 3]
    assert store.audit(limit=1).items[0].to_json()["detail"] == {"crop": False, "query": {"n": "8"}}


@pytest.mark.parametrize("kwargs", [{"limit": 0}, {"limit": 1001}, {"since": T0 + 5, "until": T0}])
def test_bad_audit_queries_raise(store, kwargs):
    with pytest.raises(InvalidQuery):
        store.audit(**kwargs)


@pytest.mark.parametrize("cursor", ["garbage!", encode_cursor(T0, "not-a-seq"), encode_cursor(T0, "²")])
def test_a_cursor_not_of_the_audit_log_is_refused(store, cursor):
    with pytest.raises(InvalidCursor):
        store.audit(cursor=cursor)


@pytest.mark.parametrize("kwargs", [{"detail": {"x": math.nan}}, {"detail": ["not", "an", "object"]},
                                    {"t": math.inf}])
def test_a_bad_entry_is_refused_and_nothing_is_appended(store, kwargs):
    with pytest.raises(InvalidRecord):
        store.audit_append("me", "x", "y", **kwargs)
    assert store.audit_verify().rows == 0


def test_details_read_back_as_they_were_hashed(store):
    entry = store.audit_append("me", "x", "", {"when": T0, "nested": {"b": [1, 2.5, None]}, "ünïcode": "ok"},
                               t=T0 + 0.123456789)
    assert store.audit().items == [entry]
    assert store.audit_verify().ok


def test_the_audit_log_is_never_pruned(store):
    fill(store, 3, t0=1.0)  # the epoch's first seconds: older than any retention
    store.prune(older_than_s=0, now=T0, originals_older_than_s=0)
    assert store.audit_verify().rows == 3


def test_the_chain_check_alone_and_heads_as_text():
    entries, last = [], None
    for i in range(3):
        entries.append(new_entry(last, T0 + i, "a", "b", "c", {"i": i}, None))
        last = (entries[-1].seq, entries[-1].hash)
    rows = [(e.seq, e.t, e.actor, e.action, e.target, canonical(e.detail), e.remote, e.prev_hash, e.hash)
            for e in entries]
    assert check_chain(iter(rows)).ok
    assert check_chain(rows[:1] + rows[2:]).first_bad_seq == 2
    assert check_chain([rows[0][:5] + ("not json",) + rows[0][6:]]).first_bad_seq == 1
    assert parse_head(f"3:{entries[2].hash}") == (3, entries[2].hash)
    for bad in ("3", "x:" + "0" * 64, "3:" + "0" * 63, "3:" + "A" * 64):
        with pytest.raises(ValueError):
            parse_head(bad)
