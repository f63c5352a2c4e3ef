"""Opening sources: FFmpeg may open only the protocols a source's kind needs, nested opens included."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from matakota.config import DecodeConfig, SourceConfig
from matakota.core.messages import CameraState
from matakota.video.reader import CameraReader
from matakota.video.sources import ffmpeg_options


@pytest.fixture
def playlist_server(tmp_path, cars_clip):
    """An HLS playlist over HTTP whose one segment is a local file: what a hostile camera URL would serve."""
    (tmp_path / "list.m3u8").write_text("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:40\n"
                                        f"#EXTINF:37.0,\nfile://{cars_clip}\n#EXT-X-ENDLIST\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/list.m3u8"
    server.shutdown()


@pytest.mark.timeout(30)
def test_an_http_camera_cannot_make_ffmpeg_read_a_local_file(playlist_server, wait_until):
    reader = CameraReader("hls", SourceConfig(url=playlist_server), DecodeConfig(mode="keyframes"))
    try:
        assert wait_until(lambda: reader.stats().errors >= 1, 15)
        stats = reader.stats()  # with `file` allowed, this camera decoded the local clip's 161 keyframes
        assert stats.state is not CameraState.ONLINE and stats.frames_decoded == 0, stats
    finally:
        reader.stop()


@pytest.mark.parametrize(("url", "protocols"), [
    ("rtsp://h/x", "rtsp,rtp,srtp,udp,tcp,tls"), ("https://h/x.m3u8", "http,https,tcp,tls,crypto"),
    ("/clips/a.mp4", "file"),
])
def test_every_source_names_its_protocols(url, protocols):
    assert ffmpeg_options(SourceConfig(url=url, allow_files=True))["protocol_whitelist"] == protocols
