"""EventSink on the real (session) Ray: at-least-once through an Outbox with the actor killed mid-stream,
snapshots, rejected records, the live broadcast; and the Outbox on its own."""

from __future__ import annotations

import uuid

import pytest

from matakota.actors.outbox import Outbox
from matakota.analytics.counts import CountRecord
from matakota.config import PlanEntry, ReportsConfig, StoreConfig
from matakota.core.events import Event, EventState, EventType
from matakota.store import open_store

T0 = 1_767_225_600.0


def events(batch: int, n: int = 5) -> list[dict]:
    return [Event(EventType.CROWDING, f"cam-{i % 3}", "simpang-lima", f"zone-{batch}", EventState.RAISED,
                  T0 + batch * 10 + i, payload={"batch": batch}).to_json() for i in range(n)]


def counts(batch: int, n: int = 2) -> list[dict]:
    return [CountRecord(f"cam-{i}", "simpang-lima", "zone", "plaza", T0 + 60 * batch, T0 + 60 * (batch + 1),
                        10, 3, 1.5, 2).to_json() for i in range(n)]


@pytest.fixture
def sink_factory(ray_cluster, tmp_path):
    import ray

    from matakota.actors.event_sink import start_event_sink

    config = StoreConfig(url=str(tmp_path / "sink.db"), retention_days=None)
    made = []

    def make(**options):
        made.append(start_event_sink(config, name=f"event-sink-test-{uuid.uuid4().hex[:8]}", **options))
        return made[-1]
    yield make, config
    for sink in made:
        ray.kill(sink, no_restart=True)


@pytest.mark.timeout(240)
def test_kill_mid_stream_loses_nothing_and_doubles_nothing(sink_factory):
    import ray

    from matakota.actors.event_sink import flush

    make, config = sink_factory
    sink = make()
    first_pid = ray.get(sink.stats.remote())["pid"]
    outbox = Outbox(max_items=100_000, max_batch=6)
    emitted_events, emitted_counts = {}, {}
    for i in range(40):
        new_events, new_counts = events(i), counts(i)
        emitted_events.update((e["id"], e) for e in new_events)
        emitted_counts.update((c["id"], c) for c in new_counts)
        outbox.put(new_events, new_counts)
        if i == 10:  # an ack lost on the way back: the sender resends the same batch
            batch = outbox.next_batch()
            ray.get(sink.write.remote(batch.id, batch.events, batch.counts))
        if i == 20:  # killed with a write in flight: Ray retries it on the restarted actor
            batch = outbox.next_batch()
            in_flight = sink.write.remote(batch.id, batch.events, batch.counts)
            ray.kill(sink, no_restart=False)
            assert ray.get(in_flight, timeout=120)["batch_id"] == batch.id
            outbox.ack(batch.id)
        flush(outbox, sink, timeout_s=120)
    assert outbox.pending == 0 and not outbox.dropped
    assert ray.get(sink.stats.remote())["pid"] != first_pid  # it really restarted

    with open_store(config.url) as store:
        stored, cursor = [], None
        while True:
            page = store.events(limit=1000, cursor=cursor)
            stored += page.items
            if not (cursor := page.next_cursor):
                break
        rows = store.counts(sites=["simpang-lima"], start=T0, end=T0 + 86400, bucket="1m")
    assert sorted(e["id"] for e in stored) == sorted(emitted_events)  # none lost, none doubled
    assert len(rows) == len(emitted_counts) and sum(r.visits for r in rows) == 2 * len(emitted_counts)


@pytest.mark.timeout(120)
def test_batch_with_snapshots_and_a_bad_record(sink_factory, tmp_path):
    import ray

    make, config = sink_factory
    sink = make()
    good = {**events(0, 1)[0], "snapshot_jpeg": b"\xff\xd8full", "crop_jpeg": b"\xff\xd8crop"}
    ack = ray.get(sink.write.remote("b-1", [good, {"id": "broken"}], counts(0)))
    assert {k: ack[k] for k in ("events", "counts", "rejected", "duplicate")} == {
        "events": 1, "counts": 2, "rejected": 1, "duplicate": False}
    assert ray.get(sink.write.remote("b-1", [good], []))["duplicate"] is True
    with open_store(config.url) as store:
        stored = store.get_event(good["id"])
        assert store.snapshot(stored["snapshot_crop"]) == b"\xff\xd8crop"
        assert store.snapshot(stored["snapshot"]) == b"\xff\xd8full"

    items, last = ray.get(sink.poll.remote(0, 1.0))  # the live broadcast got it once, without image bytes
    assert [e["id"] for _, e in items] == [good["id"]] and last == 1
    assert "snapshot_jpeg" not in items[0][1] and items[0][1]["snapshot"] == f"{good['id']}.jpg"
    ray.get(sink.write.remote("b-2", [good], []))  # a resend under a new batch id: stored once, not re-broadcast
    assert ray.get(sink.poll.remote(last, 0.2)) == ([], last)


def test_outbox_resends_the_same_batch_until_acked():
    outbox = Outbox(max_items=100, max_batch=4, sender="shard-1")
    outbox.put(events(0, 3), counts(0, 3))
    first = outbox.next_batch()
    assert first.id == "shard-1:1" and len(first) == 4
    assert outbox.next_batch() == first  # unacknowledged: the same id and records again
    assert outbox.ack(first.id) and not outbox.ack(first.id)
    second = outbox.next_batch()
    assert second.id == "shard-1:2" and len(second) == 2
    outbox.ack(second.id)
    assert outbox.next_batch() is None and outbox.pending == 0 and outbox.acked == 6


@pytest.mark.parametrize("puts, max_items, pending, dropped", [
    ([5, 5], 10, 10, 0),
    ([5, 5, 1], 10, 10, 1),  # the oldest waiting record goes
    ([30], 10, 10, 20),
])
def test_outbox_is_bounded_and_counts_what_it_drops(puts, max_items, pending, dropped):
    outbox = Outbox(max_items=max_items, max_batch=4)
    for i, n in enumerate(puts):
        outbox.put(events(i, n))
    assert (outbox.pending, outbox.stats().dropped) == (pending, dropped)


def test_a_full_outbox_drops_the_oldest_sealed_batch_first():
    outbox = Outbox(max_items=6, max_batch=4)
    outbox.put(events(0, 6))
    oldest = outbox.next_batch()
    outbox.put(events(1, 1))
    assert outbox.dropped == {"event": 4} and not outbox.ack(oldest.id)
    assert outbox.next_batch().events == events(0, 6)[4:] + events(1, 1)


def test_the_outbox_is_bounded_by_bytes_too_and_batches_stay_sendable():
    """Events carry their evidence JPEGs: a few big ones must not hold a shard's memory hostage."""
    jpeg = b"\xff\xd8" + bytes(100_000)
    outbox = Outbox(max_items=1000, max_bytes=350_000, max_batch=100, max_batch_bytes=250_000)
    outbox.put(events=[{**e, "snapshot_jpeg": jpeg} for e in events(0, 5)], counts=counts(0, 2))
    stats = outbox.stats()
    assert stats.dropped_by_kind == {"event": 2} and stats.pending == 5  # the two oldest events went
    assert stats.pending_bytes <= 350_000
    first = outbox.next_batch()
    assert len(first.events) == 2 and first.bytes <= 250_000  # a third image would overflow the batch
    outbox.ack(first.id)
    second = outbox.next_batch()
    assert len(second.events) == 1 and len(second.counts) == 2


@pytest.mark.timeout(120)
def test_the_sink_rolls_up_under_the_counting_plan_it_was_given(sink_factory):
    import ray

    from matakota.actors.event_sink import flush

    make, config = sink_factory
    plan = [PlanEntry("simpang-lima", "cam-0", "zone", "plaza", True, True)]  # cam-1 sees the same people
    sink = make(reports=ReportsConfig(timezone="Asia/Jakarta"), plan=plan)
    outbox = Outbox(max_items=1000, max_batch=10)
    for i in range(3):
        outbox.put([], counts(i))
    flush(outbox, sink, timeout_s=60)
    ray.get(sink.roll_up.remote())  # the one hour, long closed (its background loop may have rolled it up first)
    with open_store(config.url) as store:
        [day] = store.visits(start=T0, end=T0 + 86400, bucket="day")
        assert day.visits == 3 * 2  # cam-0's visits only
        assert store.counts(start=T0, end=T0 + 86400, bucket="day") != []
        [(rolled,)] = store._read("SELECT COUNT(*) FROM rollups WHERE level = 'day' AND kind = 'site'")
    assert rolled == 1 and ray.get(sink.stats.remote())["hours_rolled_up"] >= 1
