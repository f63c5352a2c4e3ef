"""Reader thread fixtures for the video tests."""

from __future__ import annotations

import threading

import pytest

from tests.waiting import wait_for


@pytest.fixture
def wait_until():
    """`wait_until(predicate, timeout)` → True once predicate() holds, False at the deadline."""
    return wait_for


@pytest.fixture
def camera_threads():
    """`camera_threads()` → names of live CameraReader threads."""
    return lambda: [t.name for t in threading.enumerate() if t.name.startswith("camera-")]
