"""The sender's side of at-least-once delivery to the EventSink: records wait here until acknowledged.

    outbox = Outbox(max_items=50_000)
    outbox.put(events=[e.to_json() for e in new_events], counts=[c.to_json() for c in closed],
               levels=[{"camera": …, "site": …, **reading.to_json()}])   # water-level readings of gauge cameras
    while (batch := outbox.next_batch()) is not None:
        ack = await sink.write.remote(batch.id, batch.events, batch.counts, batch.levels)   # raises → keep it
        outbox.ack(batch.id)

`next_batch()` seals up to `max_batch` waiting records (and `max_batch_bytes`) into a batch with a fresh id and
returns the oldest unacknowledged batch, the same one (same id, same records) until it is acked, so a resend is
identical and the store's idempotent insert makes it harmless. Bounded by records and by bytes (events carry
their evidence JPEGs): past `max_items` or `max_bytes` the oldest batch (or the oldest waiting records) are
dropped and counted in `dropped`, by kind.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field

from matakota.core.messages import OutboxStats

RECORD_BYTES = 512  # what a record weighs besides its images (its JSON, roughly)
IMAGE_KEYS = ("snapshot_jpeg", "crop_jpeg", "snapshot_original_jpeg", "crop_original_jpeg", "clip_mp4")


def record_bytes(record: dict) -> int:
    return RECORD_BYTES + sum(len(record.get(key) or b"") for key in IMAGE_KEYS)


@dataclass(frozen=True)
class Batch:
    id: str
    events: list[dict]
    counts: list[dict]
    bytes: int = 0
    levels: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.events) + len(self.counts) + len(self.levels)


class Outbox:
    def __init__(self, max_items: int = 50_000, max_bytes: int = 256 << 20, max_batch: int = 500,
                 max_batch_bytes: int = 8 << 20, sender: str | None = None):
        if not 1 <= max_batch <= max_items:
            raise ValueError(f"need 1 <= max_batch <= max_items, got max_batch={max_batch}, max_items={max_items}")
        self.max_items, self.max_bytes = max_items, max_bytes
        self.max_batch, self.max_batch_bytes = max_batch, max_batch_bytes
        self.sender = sender or uuid.uuid4().hex[:12]
        self._seq = itertools.count(1)
        self._sealed: OrderedDict[str, Batch] = OrderedDict()
        self._waiting: deque[tuple[str, dict, int]] = deque()  # ("event" | "count" | "level", record, bytes)
        self._sealed_items = self._sealed_bytes = self._waiting_bytes = 0
        self.dropped: Counter[str] = Counter()  # records given up on because the outbox was full: event, count, level
        self.acked = 0  # records acknowledged

    def put(self, events=(), counts=(), levels=()) -> None:
        for kind, records in (("event", events), ("count", counts), ("level", levels)):
            for record in records:
                size = record_bytes(record)
                self._waiting.append((kind, record, size))
                self._waiting_bytes += size
        self._shed()

    def next_batch(self) -> Batch | None:
        """The oldest unacknowledged batch (sealing waiting records into one if none is); None when empty."""
        if not self._sealed and self._waiting:
            take, size = [], 0
            while self._waiting and len(take) < self.max_batch:
                if take and size + self._waiting[0][2] > self.max_batch_bytes:
                    break  # the next record would make the batch too big to send: it waits for the next one
                take.append(self._waiting.popleft())
                size += take[-1][2]
            self._waiting_bytes -= size
            batch = Batch(f"{self.sender}:{next(self._seq)}", [r for k, r, _ in take if k == "event"],
                          [r for k, r, _ in take if k == "count"], size, [r for k, r, _ in take if k == "level"])
            self._sealed[batch.id] = batch
            self._sealed_items += len(batch)
            self._sealed_bytes += size
        return next(iter(self._sealed.values()), None)

    def ack(self, batch_id: str) -> bool:
        """Forget an acknowledged batch; False if unknown (already acked, or dropped while in flight)."""
        batch = self._sealed.pop(batch_id, None)
        if batch is None:
            return False
        self._forget(batch)
        self.acked += len(batch)
        return True

    @property
    def pending(self) -> int:
        """Records not yet acknowledged (sealed or waiting)."""
        return self._sealed_items + len(self._waiting)

    @property
    def pending_bytes(self) -> int:
        return self._sealed_bytes + self._waiting_bytes

    def _forget(self, batch: Batch) -> None:
        self._sealed_items -= len(batch)
        self._sealed_bytes -= batch.bytes

    def _shed(self) -> None:
        while self.pending > self.max_items or self.pending_bytes > self.max_bytes:
            if self._sealed:
                _, batch = self._sealed.popitem(last=False)
                self._forget(batch)
                for kind, records in (("event", batch.events), ("count", batch.counts), ("level", batch.levels)):
                    if records:
                        self.dropped[kind] += len(records)
            else:
                kind, _, size = self._waiting.popleft()
                self._waiting_bytes -= size
                self.dropped[kind] += 1

    def stats(self) -> OutboxStats:
        return OutboxStats(self.pending, len(self._sealed), self.acked, sum(self.dropped.values()), self.pending_bytes,
                           dict(self.dropped))
