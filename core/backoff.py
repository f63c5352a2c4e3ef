"""Capped exponential backoff with full jitter, so thousands of cameras never reconnect in lockstep."""
from __future__ import annotations

import random


class Backoff:
    """`next_delay()` is uniform in [0, min(cap, base * 2**attempt)]; `reset()` after a healthy session."""

    def __init__(self, base_s: float = 0.5, cap_s: float = 30.0, rng: random.Random | None = None):
        if not 0 < base_s <= cap_s:
            raise ValueError(f"need 0 < base_s <= cap_s, got base_s={base_s}, cap_s={cap_s}")
        self.base_s, self.cap_s = base_s, cap_s
        self._rng = rng or random.Random()
        self.attempt = 0

    def ceiling(self) -> float:
        """The upper bound of the next delay."""
        return min(self.cap_s, self.base_s * 2 ** min(self.attempt, 62))

    def next_delay(self) -> float:
        delay = self._rng.uniform(0.0, self.ceiling())
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0

    def __repr__(self) -> str:
        return f"Backoff(base_s={self.base_s}, cap_s={self.cap_s}, attempt={self.attempt})"
