"""The RTSP simulator itself: serves mounts at the file's native rate, stops/starts them, checks passwords."""
import time
from pathlib import Path

import av
import pytest


def open_rtsp(url: str):
    return av.open(url, options={"rtsp_transport": "tcp", "analyzeduration": "500000"}, timeout=(5, 5))


@pytest.mark.timeout(40)
def test_serves_mounts_at_native_rate_without_transcoding(rtsp_sim, cars_clip):
    with rtsp_sim.RtspSimulator({"cam0": cars_clip, "cam1": cars_clip}) as sim:
        assert sim.url("cam1") == f"rtsp://127.0.0.1:{sim.port}/cam1"
        with open_rtsp(sim.url("cam1")) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264" and stream.codec_context.width == 768
            pts, t0 = [], None
            for frame in container.decode(stream):
                if len(pts) == 10:  # skip what av.open buffered while probing
                    t0 = time.monotonic()
                pts.append(frame.time)
                if len(pts) == 10 + 25:
                    break
            elapsed = time.monotonic() - t0
        assert elapsed == pytest.approx(25 / 12.5, rel=0.25)  # paced like a live camera
        assert all(b > a for a, b in zip(pts[1:], pts[2:]))


@pytest.mark.timeout(40)
def test_stop_and_start_a_mount_at_run_time(rtsp_sim, cars_clip):
    with rtsp_sim.RtspSimulator({"cam0": cars_clip, "cam1": cars_clip}) as sim:
        with open_rtsp(sim.url("cam0")) as cam0:
            sim.stop_mount("cam0")
            frames = 0
            try:
                for _ in cam0.decode(video=0):
                    frames += 1
            except av.error.InvalidDataError:
                pass  # cut mid-packet: a dropped client sees the stream end either way
            assert frames < 377  # ends: the server dropped the client
        with pytest.raises(av.error.HTTPNotFoundError):
            open_rtsp(sim.url("cam0"))
        with open_rtsp(sim.url("cam1")) as cam1:  # the other mount is untouched
            assert next(cam1.decode(video=0)) is not None
        sim.start_mount("cam0")
        with open_rtsp(sim.url("cam0")) as cam0:
            assert next(cam0.decode(video=0)) is not None
        with pytest.raises(RuntimeError, match="unknown"):
            sim.stop_mount("nope")


@pytest.mark.timeout(40)
def test_credentials_are_enforced(rtsp_sim, cars_clip):
    with rtsp_sim.RtspSimulator({"cam0": cars_clip}, user="admin", password="pw-123") as sim:
        with pytest.raises(av.error.HTTPUnauthorizedError):
            open_rtsp(sim.url("cam0", password="wrong"))
        with open_rtsp(sim.url("cam0")) as container:
            assert next(container.decode(video=0)) is not None
        assert "pw-123" not in repr(sim)


@pytest.mark.timeout(20)
def test_binds_only_to_loopback(rtsp_sim, cars_clip):
    with rtsp_sim.RtspSimulator({"cam0": cars_clip}) as sim:
        listening = Path("/proc/net/tcp").read_text().splitlines()[1:]
        ours = [line.split()[1] for line in listening if line.split()[1].endswith(f":{sim.port:04X}")]
        assert ours == [f"0100007F:{sim.port:04X}"]
