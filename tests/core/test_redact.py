import pytest
from pydantic import ValidationError

from matakota.config import SourceConfig
from matakota.core.redact import Redactor, redact_url


@pytest.mark.timeout(5)
@pytest.mark.parametrize("url, expected", [
    ("rtsp://admin:s3cret@10.0.0.5:554/Streaming/101", "rtsp://admin:***@10.0.0.5:554/Streaming/101"),
    ("rtsp://admin@cam/x", "rtsp://admin@cam/x"),
    ("rtsp://cam/x", "rtsp://cam/x"),
    ("http://u:p%40ss@cam/video.mjpg?token=abc&fps=5", "http://u:***@cam/video.mjpg?token=***&fps=5"),
    ("rtsps://u:a:b@cam/x", "rtsps://u:***@cam/x"),
    ("/var/clips/a.mp4", "/var/clips/a.mp4"),
])
def test_redact_url(url, expected):
    assert redact_url(url) == expected


@pytest.mark.timeout(5)
def test_redactor_scrubs_ffmpeg_messages():
    url = "rtsp://admin:p%40ss-123@cam:554/x"
    scrub = Redactor(url)
    text = f"Server returned 401 for '{url}', password p@ss-123 / p%40ss-123; also rtsp://x:y@other/z"
    out = scrub(text)
    assert "p@ss-123" not in out and "p%40ss-123" not in out and ":y@" not in out
    assert "rtsp://admin:***@cam:554/x" in out


@pytest.mark.timeout(5)
def test_source_config_never_shows_the_password():
    cfg = SourceConfig(url="rtsp://admin:hunter22@cam/x")
    assert "hunter22" not in repr(cfg) and "hunter22" not in str(cfg)
    assert cfg.redacted_url == "rtsp://admin:***@cam/x"
    with pytest.raises(ValidationError) as err:
        SourceConfig(url="ftp://admin:hunter22@cam/x")
    assert "hunter22" not in str(err.value) and "unsupported scheme" in str(err.value)
