"""Synthetic cameras (scale tests): parsed strictly, allowed only with allow_files, emit at their rate."""

from __future__ import annotations

import pytest

from matakota.actors.errors import UnsupportedSourceError
from matakota.actors.reader import CameraReader, CameraState
from matakota.actors.sources import SourceConfig, SourceKind, source_kind
from matakota.actors.synthetic import SyntheticSpec, parse


@pytest.mark.parametrize(("url", "expected"), [
    ("synthetic://64x36", SyntheticSpec(64, 36, 1.0, True)),
    ("synthetic://640x360?fps=5", SyntheticSpec(640, 360, 5.0, True)),
    ("synthetic://32x32?fps=0.5&detect=0", SyntheticSpec(32, 32, 0.5, False)),
    ("synthetic://64x36?fps=0", UnsupportedSourceError),
    ("synthetic://64x36?fps=fast", UnsupportedSourceError),
    ("synthetic://8x8", UnsupportedSourceError),
    ("synthetic://64x36?detect=yes", UnsupportedSourceError),
    ("synthetic://64x36?colour=red", UnsupportedSourceError),
    ("synthetic://big", UnsupportedSourceError),
    ("synthetic://64x36/path", UnsupportedSourceError),
])
def test_parse(url, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            parse(url)
    else:
        assert parse(url) == expected


def test_only_allowed_where_files_are():
    assert source_kind("synthetic://64x36", allow_files=True) is SourceKind.SYNTHETIC
    with pytest.raises(UnsupportedSourceError, match="allow_files"):
        source_kind("synthetic://64x36", allow_files=False)


@pytest.mark.parametrize(("url", "detect"), [
    ("synthetic://64x36?detect=0", False), ("synthetic://64x36", True), ("/clips/a.mp4", True),
])
def test_only_detect_0_cameras_skip_the_detector(url, detect):
    assert SourceConfig(url=url, allow_files=True).detect is detect


def test_reader_goes_online_and_emits_blank_frames_at_the_rate(wait_until):
    reader = CameraReader("syn", SourceConfig(url="synthetic://48x32?fps=20", allow_files=True))
    try:
        assert wait_until(lambda: reader.stats().frames_decoded >= 10, 5)
        assert reader.state is CameraState.ONLINE
        frame = reader.take(timeout=1)
        assert frame.image.shape == (32, 48, 3) and not frame.image.flags.writeable
        assert 10 <= reader.stats().fps_in <= 25
    finally:
        assert reader.stop(timeout=2)
    assert reader.state is CameraState.OFFLINE
