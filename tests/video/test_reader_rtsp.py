"""CameraReader against real RTSP (loadtest/rtsp_sim.py): online, outage + recovery, stall, wrong password."""
import logging
import time

import pytest

from matakota.config import DecodeConfig, SourceConfig
from matakota.core.backoff import Backoff
from matakota.core.messages import CameraState
from matakota.video.reader import CameraReader

PASSWORD = "Sup3r-s3cret"
FAST = dict(open_timeout_s=2.0, read_timeout_s=2.0)


@pytest.fixture(scope="module")
def sim(rtsp_sim, people_clip, cars_clip):
    mounts = {"a": people_clip, "b": cars_clip, "c": cars_clip, "d": people_clip}
    with rtsp_sim.RtspSimulator(mounts, user="admin", password=PASSWORD) as server:
        yield server


def reader(name, url, transport="tcp", **decode):
    source = SourceConfig(url=url, rtsp_transport=transport, **FAST)
    return CameraReader(name, source, DecodeConfig(stall_timeout_s=3.0, **decode),
                        backoff=Backoff(base_s=0.2, cap_s=1.0))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rtsp_camera_goes_online_and_frames_flow(sim, wait_until, transport):
    cam = reader(f"rtsp-{transport}", sim.url("b"), transport, mode="sampled", sample_fps=5, max_width=384)
    try:
        frame = cam.take(timeout=10)
        assert frame is not None and frame.image.shape == (216, 384, 3)
        assert wait_until(lambda: cam.stats().frames_decoded >= 25, 10)
        later = cam.take(timeout=2)
        assert later.pts_s > frame.pts_s and later.index > frame.index
        stats = cam.stats()
        assert stats.state is CameraState.ONLINE and stats.fps_in > 0  # rate: see the paced-file test
    finally:
        assert cam.stop()


@pytest.mark.timeout(60)
def test_mount_outage_goes_offline_and_recovers_while_others_flow(sim, wait_until):
    victim = reader("victim", sim.url("a"), mode="keyframes")
    others = [reader(f"other-{m}", sim.url(m), mode="sampled", sample_fps=2) for m in ("c", "d")]
    cams = [victim, *others]
    try:
        assert wait_until(lambda: all(c.state is CameraState.ONLINE for c in cams), 10)
        sim.stop_mount("a")
        assert wait_until(lambda: victim.state is CameraState.OFFLINE, 10)
        down = victim.stats()
        assert down.reason and PASSWORD not in down.reason
        during = [c.stats().frames_decoded for c in others]
        assert wait_until(lambda: victim.stats().errors >= 2, 10)  # retrying, and failing, with backoff
        time.sleep(1.0)
        assert all(c.stats().frames_decoded > n for c, n in zip(others, during))
        sim.start_mount("a")
        assert wait_until(lambda: victim.state is CameraState.ONLINE, 10)
        assert victim.stats().reconnects >= 1 and victim.stats().reason == ""
        after = [c.stats().frames_decoded for c in others]
        assert all(a > n for a, n in zip(after, during))
        assert all(c.stats().state is CameraState.ONLINE for c in others)
    finally:
        for c in cams:
            c.request_stop()
        assert all(c.join(5) for c in cams)


@pytest.mark.timeout(60)
def test_stalled_stream_is_detected_and_reconnected(sim, wait_until):
    cam = reader("stally", sim.url("c"), mode="all", max_width=160)
    try:
        assert wait_until(lambda: cam.state is CameraState.ONLINE, 10)
        sim.pause_mount("c")  # connection stays open, data stops
        assert wait_until(lambda: cam.stats().stalls >= 1, 10)
        assert "no " in cam.stats().reason or cam.state is CameraState.ONLINE
        assert wait_until(lambda: cam.state is CameraState.ONLINE, 10)  # new session, new feeder
    finally:
        assert cam.stop()


@pytest.mark.timeout(30)
def test_wrong_password_is_an_error_that_never_shows_the_password(sim, wait_until, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-pa55"
    cam = reader("wrongpw", sim.url("b", password=wrong))
    try:
        assert wait_until(lambda: cam.state is CameraState.ERROR, 10)
        stats = cam.stats()
        assert "authentication failed" in stats.reason and "401" in stats.reason
        text = " ".join([stats.reason, repr(stats), repr(cam), stats.url, caplog.text])
        assert wrong not in text and PASSWORD not in text
        assert "admin:***@" in stats.url
    finally:
        assert cam.stop()


@pytest.mark.timeout(60)
def test_an_h265_camera_is_read_over_rtsp_in_keyframes_mode(rtsp_sim, people_clip, tmp_path, wait_until):
    """A city camera's H.265 (encoded here from the demo clip: 2 keyframes a second), served by the simulator: the
    shared keyframe decoders give each keyframe at the camera's own size."""
    import subprocess

    h265 = tmp_path / "h265.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-t", "4", "-i", str(people_clip), "-an", "-vf",
                    "scale=480:270", "-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1", "-x265-params",
                    "keyint=5:min-keyint=5:scenecut=0:bframes=0:log-level=error", str(h265)], check=True)
    with rtsp_sim.RtspSimulator({"h265": h265}) as server:
        cam = CameraReader("h265", SourceConfig(url=server.url("h265"), **FAST), DecodeConfig(mode="keyframes"))
        try:
            assert wait_until(lambda: cam.stats().frames_emitted >= 3, 20), cam.stats()
            frame = cam.latest()
            assert frame.keyframe and frame.image.shape == (270, 480, 3)
            assert cam.stats().frames_decoded == cam.stats().keyframes  # nothing but keyframes decoded
        finally:
            cam.stop()
