"""Camera URLs classified without opening them: kinds, what allow_files opens, synthetic specs, credentials."""

from __future__ import annotations

import pytest

from matakota.core.errors import UnsupportedSourceError
from matakota.core.urls import SourceKind, SyntheticSpec, asset_name, credential_reference, parse_synthetic, source_kind


@pytest.mark.timeout(5)
@pytest.mark.parametrize("url, allow_files, expected", [
    ("rtsp://cam/x", False, SourceKind.RTSP),
    ("RTSPS://cam/x", False, SourceKind.RTSP),
    ("https://cam/v.mp4", False, SourceKind.HTTP),
    ("/clips/a.mp4", True, SourceKind.FILE),
    ("file:///clips/a.mp4", True, SourceKind.FILE),
    ("/clips/a.mp4", False, UnsupportedSourceError),
    ("file:///etc/passwd", False, UnsupportedSourceError),
    ("ftp://u:pw@cam/x", True, UnsupportedSourceError),
    ("concat:a.mp4|b.mp4", True, UnsupportedSourceError),
    ("udp://0.0.0.0:1234", False, UnsupportedSourceError),
    ("asset:car-detection", True, SourceKind.FILE),
    ("asset:car-detection", False, UnsupportedSourceError),
    ("asset:no-such-clip", True, UnsupportedSourceError),
])
def test_only_allowed_schemes(url, allow_files, expected):
    if isinstance(expected, type) and issubclass(expected, Exception):
        with pytest.raises(expected) as err:
            source_kind(url, allow_files)
        assert "pw@" not in str(err.value)
    else:
        assert source_kind(url, allow_files) is expected


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
            parse_synthetic(url)
    else:
        assert parse_synthetic(url) == expected


def test_only_allowed_where_files_are():
    assert source_kind("synthetic://64x36", allow_files=True) is SourceKind.SYNTHETIC
    with pytest.raises(UnsupportedSourceError, match="allow_files"):
        source_kind("synthetic://64x36", allow_files=False)


def test_asset_urls_name_a_manifest_entry():
    assert asset_name("asset:one-by-one-person-detection") == "one-by-one-person-detection"
    assert asset_name("/clips/a.mp4") is None
    with pytest.raises(UnsupportedSourceError, match="unknown asset 'nope'"):
        asset_name("asset:nope")


@pytest.mark.parametrize(("url", "expected"), [
    ("rtsp://${kota-lama-07}@10.1.2.3/stream1", "kota-lama-07"),
    ("rtsp://admin:pw@10.1.2.3/stream1", None),
    ("rtsp://x${kota}@10.1.2.3/stream1", ValueError),
    ("rtsp://${a/b}@10.1.2.3/stream1", ValueError),
])
def test_credential_references_are_the_whole_user_part(url, expected):
    if expected is ValueError:
        with pytest.raises(ValueError, match="whole user part"):
            credential_reference(url)
    else:
        assert credential_reference(url) == expected
