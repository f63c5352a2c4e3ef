"""Recent events for Server-Sent Events: a ring of the last N events with sequence numbers, and
long-poll waiters. Clients resume with the last sequence they saw (SSE `Last-Event-ID`)."""

from __future__ import annotations

import asyncio
from collections import deque


class Broadcast:
    """`publish` from the writer; `poll(after, timeout_s)` from readers (asyncio, one event loop)."""

    def __init__(self, size: int = 1000):
        self._ring: deque[tuple[int, dict]] = deque(maxlen=size)
        self.last_seq = 0
        self._changed: asyncio.Event | None = None

    def publish(self, events: list[dict]) -> int:
        for event in events:
            self.last_seq += 1
            self._ring.append((self.last_seq, event))
        if events and self._changed is not None:
            self._changed.set()
            self._changed = None
        return self.last_seq

    def since(self, after: int | None, limit: int = 100) -> tuple[list[tuple[int, dict]], int]:
        """Events with sequence > after (None: only what comes next); a reader that fell behind the ring
        gets what the ring still holds."""
        if after is None or after > self.last_seq:  # new reader, or a sequence from before a restart
            return [], self.last_seq
        items = [(seq, event) for seq, event in self._ring if seq > after][:limit]
        return items, (items[-1][0] if items else after)

    async def poll(self, after: int | None, timeout_s: float = 15.0, limit: int = 100):
        """Like `since`, but waits up to timeout_s for something new."""
        items, last = self.since(after, limit)
        if items:
            return items, last
        after = last
        if self._changed is None:
            self._changed = asyncio.Event()
        try:
            await asyncio.wait_for(self._changed.wait(), timeout_s)
        except asyncio.TimeoutError:
            return [], after
        return self.since(after, limit)

    def recent(self, limit: int = 100) -> list[dict]:
        return [event for _, event in list(self._ring)[-limit:]]
