"""Small running statistics: a sliding-window rate and rank percentiles."""

from __future__ import annotations

import time
from collections import deque


class RateMeter:
    """Events per second over a sliding window (bounded memory)."""

    def __init__(self, window_s: float = 5.0, clock=time.monotonic):
        self.window_s, self.clock = window_s, clock
        self._times: deque[float] = deque(maxlen=4096)

    def add(self) -> None:
        self._times.append(self.clock())

    def rate(self) -> float:
        now = self.clock()
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()
        if len(self._times) < 2:
            return 0.0
        # n events span n - 1 intervals: counting n over the span would read high on short windows
        return (len(self._times) - 1) / max(now - self._times[0], 1e-3)


def percentiles(samples) -> tuple[float | None, float | None]:
    """(p50, p99) by rank; plain sorting beats numpy on a few hundred samples (this runs every heartbeat)."""
    if not samples:
        return None, None
    ordered = sorted(samples)
    last = len(ordered) - 1
    return round(ordered[last // 2], 4), round(ordered[round(last * 0.99)], 4)
