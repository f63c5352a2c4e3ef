"""Polling for things that happen in other processes (readers, shards, brokers, servers)."""

from __future__ import annotations

import time


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1):
    """Poll `predicate()` until it returns something truthy (returned), or its last value at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
