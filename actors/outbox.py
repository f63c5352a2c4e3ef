"""The sender's side of at-least-once delivery to the EventSink: records wait here until acknowledged.

    outbox = Outbox(max_items=50_000)
    outbox.put(events=[e.to_json() for e in new_events], counts=[c.to_json() for c in closed])
    while (batch := outbox.next_batch()) is not None:
        ack = await sink.write.remote(batch.id, batch.events, batch.counts)   # raises → keep it, retry later
        outbox.ack(batch.id)

`next_batch()` seals up to `max_batch` waiting records into a batch with a fresh id and returns the oldest
unacknowledged batch, the same one (same id, same records) until it is acked, so a resend is identical and
the store's idempotent insert makes it harmless. Bounded: past `max_items` records the oldest batch (or the
oldest waiting records) are dropped and counted in `dropped`.
"""

from __future__ import annotations

import itertools
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass

from matakota.core.messages import OutboxStats


@dataclass(frozen=True)
class Batch:
    id: str
    events: list[dict]
    counts: list[dict]

    def __len__(self) -> int:
        return len(self.events) + len(self.counts)


class Outbox:
    def __init__(self, max_items: int = 50_000, max_batch: int = 500, sender: str | None = None):
        if not 1 <= max_batch <= max_items:
            raise ValueError(f"need 1 <= max_batch <= max_items, got max_batch={max_batch}, max_items={max_items}")
        self.max_items, self.max_batch = max_items, max_batch
        self.sender = sender or uuid.uuid4().hex[:12]
        self._seq = itertools.count(1)
        self._sealed: OrderedDict[str, Batch] = OrderedDict()
        self._waiting: deque[tuple[str, dict]] = deque()  # ("event" | "count", record), oldest first
        self._sealed_items = 0
        self.dropped = 0  # records given up on because the outbox was full
        self.acked = 0  # records acknowledged

    def put(self, events=(), counts=()) -> None:
        self._waiting.extend(("event", e) for e in events)
        self._waiting.extend(("count", c) for c in counts)
        self._shed()

    def next_batch(self) -> Batch | None:
        """The oldest unacknowledged batch (sealing waiting records into one if none is); None when empty."""
        if not self._sealed and self._waiting:
            take = [self._waiting.popleft() for _ in range(min(self.max_batch, len(self._waiting)))]
            batch = Batch(f"{self.sender}:{next(self._seq)}", [r for k, r in take if k == "event"],
                          [r for k, r in take if k == "count"])
            self._sealed[batch.id] = batch
            self._sealed_items += len(batch)
        return next(iter(self._sealed.values()), None)

    def ack(self, batch_id: str) -> bool:
        """Forget an acknowledged batch; False if unknown (already acked, or dropped while in flight)."""
        batch = self._sealed.pop(batch_id, None)
        if batch is None:
            return False
        self._sealed_items -= len(batch)
        self.acked += len(batch)
        return True

    @property
    def pending(self) -> int:
        """Records not yet acknowledged (sealed or waiting)."""
        return self._sealed_items + len(self._waiting)

    def _shed(self) -> None:
        while self.pending > self.max_items:
            if self._sealed:
                _, batch = self._sealed.popitem(last=False)
                self._sealed_items -= len(batch)
                self.dropped += len(batch)
            else:
                self._waiting.popleft()
                self.dropped += 1

    def stats(self) -> OutboxStats:
        return OutboxStats(self.pending, len(self._sealed), self.acked, self.dropped)
