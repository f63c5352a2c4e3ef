"""Decode modes, pacing, the newest-frame slot, bad inputs and clean stops — on real clips."""
import functools
import http.server
import os
import socket
import threading
import time

import av
import numpy as np
import pytest

from matakota.config import DecodeConfig, DecodeMode, SourceConfig
from matakota.core.errors import StreamEndedError
from matakota.core.messages import CameraState
from matakota.video.decode import _to_bgr, decode_frames, fit_size
from matakota.video.keyframes import KeyframeDecoder
from matakota.video.reader import CameraReader


def file_source(path, **kw) -> SourceConfig:
    return SourceConfig(url=str(path), allow_files=True, **kw)


def decode_all(path, cfg: DecodeConfig, loop=False, limit=None):
    """Everything decode_frames yields for a file, unpaced."""
    stop, out = threading.Event(), []
    with av.open(path) as container:
        try:
            for item in decode_frames(container, cfg, stop, loop=loop):
                out.append(item)
                if limit and len(out) >= limit:
                    break
        except StreamEndedError:
            pass
    return out


@pytest.fixture(autouse=True)
def no_leaked_reader_threads(wait_until, camera_threads):
    yield
    assert wait_until(lambda: not camera_threads(), 5), camera_threads()


@pytest.mark.timeout(30)
def test_keyframe_mode_decodes_only_the_keyframes(people_clip):
    full = decode_all(people_clip, DecodeConfig(mode=DecodeMode.ALL, max_width=64))
    keys = decode_all(people_clip, DecodeConfig(mode=DecodeMode.KEYFRAMES))
    assert len(full) == 1394
    assert len(keys) == sum(f.keyframe for f in full) == 140
    assert all(f.keyframe for f in keys)
    assert [f.pts_s for f in keys] == [f.pts_s for f in full if f.keyframe]


@pytest.mark.timeout(60)
def test_shared_keyframe_decoders_give_each_camera_its_own_pictures(people_clip, cars_clip):
    """Two formats interleaved on the shared decoders (one worker, so one decoder per format, flushed between
    cameras) → the pictures a camera's own full decode gives, pixel for pixel."""
    own = {clip: [f.image for f in decode_all(clip, DecodeConfig(mode=DecodeMode.ALL, max_width=320)) if f.keyframe]
           for clip in (people_clip, cars_clip)}
    shared = KeyframeDecoder(workers=1)
    got = {clip: [] for clip in own}
    with av.open(people_clip) as people, av.open(cars_clip) as cars:
        streams = {people_clip: (people, people.streams.video[0]), cars_clip: (cars, cars.streams.video[0])}
        packets = {clip: (p for p in c.demux(s) if p.size and p.is_keyframe) for clip, (c, s) in streams.items()}
        for clip in [people_clip, cars_clip] * 40:
            packet = next(packets[clip], None)
            if packet is not None:
                got[clip] += shared.decode(streams[clip][1], packet, lambda f: _to_bgr(f, fit_size(f.width, f.height,
                                                                                                   320, None)))
    for clip, images in got.items():
        assert len(images) == min(40, len(own[clip])) and images, clip
        assert all(np.array_equal(a, b) for a, b in zip(images, own[clip])), clip


@pytest.mark.timeout(30)
@pytest.mark.parametrize("fps", [1.0, 3.0, 4.5])
def test_sampled_mode_holds_its_rate_in_stream_time(people_clip, fps):
    frames = [f for f in decode_all(people_clip, DecodeConfig(mode="sampled", sample_fps=fps)) if f.image is not None]
    duration = frames[-1].pts_s - frames[0].pts_s
    assert (len(frames) - 1) / duration == pytest.approx(fps, rel=0.10)
    gaps = np.diff([f.pts_s for f in frames])
    assert gaps.min() >= 0.1 - 1e-6  # never two emits for one source frame interval


@pytest.mark.timeout(30)
def test_sampled_paced_file_behaves_like_a_live_camera(cars_clip, wait_until):
    reader = CameraReader("paced", file_source(cars_clip, loop=True), DecodeConfig(mode="sampled", sample_fps=4))
    try:
        assert wait_until(lambda: reader.stats().frames_emitted >= 2, 10)
        first = reader.stats()
        t0 = time.monotonic()
        time.sleep(4.0)
        last = reader.stats()
        elapsed = time.monotonic() - t0
        assert (last.frames_emitted - first.frames_emitted) / elapsed == pytest.approx(4.0, rel=0.10)
        assert (last.frames_decoded - first.frames_decoded) / elapsed == pytest.approx(12.5, rel=0.10)
        assert last.state is CameraState.ONLINE and last.last_frame_age_s < 1.0
    finally:
        assert reader.stop()


@pytest.mark.timeout(30)
def test_all_mode_downscales_to_read_only_bgr(cars_clip):
    frames = decode_all(cars_clip, DecodeConfig(mode="all", max_width=320, max_height=320), limit=5)
    image = frames[0].image
    assert image.shape == (180, 320, 3) and image.dtype == np.uint8
    assert not image.flags.writeable
    assert fit_size(768, 432, None, 216) == (384, 216)
    assert fit_size(768, 432, 2000, None) == (768, 432)  # never upscales


@pytest.mark.timeout(30)
def test_looped_file_keeps_stream_time_increasing(cars_clip):
    frames = decode_all(cars_clip, DecodeConfig(mode="all"), loop=True, limit=377 + 20)
    pts = [f.pts_s for f in frames]
    assert np.all(np.diff(pts) > 0)
    assert pts[377] == pytest.approx(377 / 12.5, abs=1e-3)


@pytest.mark.timeout(30)
def test_newest_frame_wins_and_overwrites_count_as_dropped(cars_clip, wait_until):
    reader = CameraReader("burst", file_source(cars_clip, paced=False), DecodeConfig(mode="all", max_width=160))
    try:
        assert wait_until(lambda: reader.stats().reason == "end of file", 20)
        stats = reader.stats()
        assert stats.state is CameraState.OFFLINE
        assert stats.frames_decoded == stats.frames_emitted == 377 and stats.keyframes == 7
        assert stats.frames_dropped == 376  # nobody took any: only the newest survives
        frame = reader.take()
        assert frame.index == 376 and frame.camera_id == "burst"
        assert reader.take() is None and reader.latest() is frame
    finally:
        assert reader.stop()


@pytest.mark.timeout(30)
def test_keyframe_reader_counts_keyframes(people_clip, wait_until):
    reader = CameraReader("keys", file_source(people_clip, paced=False), DecodeConfig(mode="keyframes"))
    try:
        assert wait_until(lambda: reader.stats().reason == "end of file", 20)
        stats = reader.stats()
        assert stats.frames_decoded == stats.keyframes == 140
    finally:
        reader.stop()


@pytest.fixture
def http_server(tmp_path, cars_clip):
    (tmp_path / "cam.mp4").write_bytes(open(cars_clip, "rb").read())
    (tmp_path / "readme.txt").write_text("this is not a video\n" * 100)
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://viewer:pa55word@127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def bad_files(tmp_path, cars_clip):
    data = bytearray(open(cars_clip, "rb").read())
    data[: 64 * 1024] = os.urandom(64 * 1024)
    (tmp_path / "corrupt.mp4").write_bytes(bytes(data))
    (tmp_path / "notes.mp4").write_text("hello, I am text\n" * 50)
    return tmp_path


@pytest.fixture
def silent_port():
    """A TCP port that accepts connections and never answers (a hung camera)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(60)
def test_bad_sources_get_a_state_and_a_reason_while_good_ones_run(http_server, bad_files, silent_port, cars_clip, wait_until):
    fast = dict(open_timeout_s=1.5, read_timeout_s=1.5)
    cases = {  # camera → (url, expected state, words in the reason)
        "refused": (f"rtsp://admin:pa55word@127.0.0.1:{closed_port()}/x", CameraState.OFFLINE, "cannot reach"),
        "hung": (f"rtsp://admin:pa55word@127.0.0.1:{silent_port}/x", CameraState.OFFLINE, "timed out"),
        "http-text": (f"{http_server}/readme.txt", CameraState.ERROR, "not decodable"),
        "http-404": (f"{http_server}/missing.mp4", CameraState.OFFLINE, "404"),
        "corrupt": (str(bad_files / "corrupt.mp4"), CameraState.ERROR, "not decodable"),
        "text": (str(bad_files / "notes.mp4"), CameraState.ERROR, "not decodable"),
        "missing": (str(bad_files / "nope.mp4"), CameraState.OFFLINE, "cannot reach"),
    }
    good = CameraReader("good", SourceConfig(url=f"{http_server}/cam.mp4"), DecodeConfig(mode="all"))
    bad = {cam: CameraReader(cam, file_source(url, **fast)) for cam, (url, _, _) in cases.items()}
    try:
        for cam, (_, state, words) in cases.items():
            assert wait_until(lambda: bad[cam].stats().state is state and bad[cam].stats().errors > 0, 10), \
                bad[cam].stats()
            stats = bad[cam].stats()
            assert words in stats.reason, stats.reason
            assert "pa55word" not in stats.reason + repr(stats) + repr(bad[cam])
        assert wait_until(lambda: good.stats().frames_decoded > 100, 10)
        # an HTTP mp4 is not paced: it may already have ended ("end of stream") and be replaying
        assert good.stats().reason in ("", "end of stream") and "pa55word" not in repr(good.stats())
    finally:
        for reader in [good, *bad.values()]:
            reader.request_stop()
        assert all(reader.join(5) for reader in [good, *bad.values()])


@pytest.mark.timeout(30)
def test_stop_ends_the_thread_and_closes_the_source(cars_clip, wait_until, camera_threads):
    before = set(threading.enumerate())
    readers = [CameraReader(f"s{i}", file_source(cars_clip, loop=True)) for i in range(4)]
    assert wait_until(lambda: all(r.state is CameraState.ONLINE for r in readers), 10)
    assert len(camera_threads()) == 4
    t0 = time.monotonic()
    assert all(r.stop() for r in readers)
    assert time.monotonic() - t0 < 2.0
    assert camera_threads() == [] and set(threading.enumerate()) <= before
    assert all(not r.alive and r.stats().reason == "stopped" for r in readers)
    fds = os.listdir("/proc/self/fd")
    assert not any(os.path.realpath(f"/proc/self/fd/{fd}") == cars_clip for fd in fds)
