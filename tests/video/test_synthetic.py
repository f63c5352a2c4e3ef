"""Synthetic cameras (scale tests): emit at their rate, with no thread and no decoder."""

from __future__ import annotations

import threading
import time

import pytest

from matakota.config import SourceConfig
from matakota.core.messages import CameraState
from matakota.video import open_reader
from matakota.video.reader import CameraReader
from matakota.video.synthetic import SyntheticReader


@pytest.mark.parametrize(("url", "detect"), [
    ("synthetic://64x36?detect=0", False), ("synthetic://64x36", True), ("/clips/a.mp4", True),
])
def test_only_detect_0_cameras_skip_the_detector(url, detect):
    assert SourceConfig(url=url, allow_files=True).detect is detect


def test_reader_has_no_thread_and_hands_out_the_newest_frame_at_the_rate():
    threads = threading.active_count()
    reader = open_reader("syn", SourceConfig(url="synthetic://48x32?fps=20", allow_files=True))
    assert isinstance(reader, SyntheticReader) and threading.active_count() == threads
    first = reader.take()
    assert first.index == 0 and first.image.shape == (32, 48, 3) and not first.image.flags.writeable
    assert reader.take() is None  # nothing new until the next frame is due
    time.sleep(0.5)
    frame = reader.take()
    stats = reader.stats()
    assert reader.state is CameraState.ONLINE and stats.fps_in == 20
    assert 8 <= frame.index <= 12 and stats.frames_dropped == frame.index - 1  # the ones in between were skipped
    assert abs(frame.received_at - (first.received_at + frame.index / 20)) < 1e-6
    assert 0 <= stats.last_frame_age_s < 0.05 + 1e-9
    assert reader.take(timeout=1).index > frame.index  # waits for the next one
    assert reader.stop(timeout=2)
    assert reader.state is CameraState.OFFLINE and reader.take() is None and reader.stats().reason == "stopped"


def test_real_sources_get_a_threaded_reader():
    reader = open_reader("cam", SourceConfig(url="rtsp://127.0.0.1:1/x", open_timeout_s=0.5))
    assert isinstance(reader, CameraReader) and reader.alive
    assert reader.stop(timeout=5) and not reader.alive
