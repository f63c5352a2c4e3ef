"""Event clips from a camera's last seconds of packets, on the real clip: the MP4 plays from a keyframe, lasts what
was asked (within a GOP), holds the event's moment, decodes, and is cut only once its last second has arrived."""

from __future__ import annotations

import io

import av
import pytest

from matakota.video.clips import PacketRing

T0 = 1_767_225_600.0


def feed(ring: PacketRing, path, seconds: float, t0: float = T0) -> float:
    """Demux the clip into the ring as if it arrived live from t0; returns the last arrival time."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        ring.start_session(stream)
        fps = float(stream.average_rate)
        t = t0
        for i, packet in enumerate(container.demux(stream)):
            if packet.size:
                t = t0 + i / fps
                if t - t0 > seconds:
                    break
                ring.add(packet, t)
        ring.end_session()
    return t


def played(clip: bytes) -> tuple[float, float, list]:
    """(first frame's epoch time from the clip's metadata, duration s, decoded frames)."""
    with av.open(io.BytesIO(clip)) as container:
        start = float(container.metadata["comment"].removeprefix("start="))
        frames = list(container.decode(video=0))
        return start, float(container.duration) / 1e6, frames


@pytest.mark.parametrize("before, after", [(3.0, 3.0), (5.0, 2.0)])
def test_a_clip_holds_the_moment_lasts_what_was_asked_and_decodes(people_clip, before, after):
    ring = PacketRing(keep_s=before + after + 4)
    moment = T0 + 12.3
    ring.request("event-1", moment - before, moment + after)
    feed(ring, people_clip, 30)
    [(key, clip)] = ring.take_done()
    start, duration, frames = played(clip)
    assert key == "event-1" and abs(duration - (before + after)) <= 1.0, duration  # starts on a keyframe: ≤ 1 GOP
    assert start <= moment - before + 1e-6 and moment <= start + duration  # the moment is inside
    assert frames[0].key_frame and len(frames) >= 10 * (before + after) - 1  # 10 fps, every frame decodes
    assert frames[0].width == 768


def test_a_clip_is_cut_only_once_its_last_second_has_arrived(people_clip):
    ring = PacketRing(keep_s=10)
    ring.request("later", T0 + 20, T0 + 26)
    feed(ring, people_clip, 25)  # the stream stops before 26 s: the clip is cut at the session's end with what came
    [(_, clip)] = ring.take_done()
    _, duration, _ = played(clip)
    assert 4.0 <= duration <= 6.1


def test_nothing_older_than_the_ring_keeps_is_in_a_clip(people_clip):
    ring = PacketRing(keep_s=5)
    with av.open(str(people_clip)) as container:
        stream = container.streams.video[0]
        ring.start_session(stream)
        for i, packet in enumerate(p for p in container.demux(stream) if p.size):
            ring.add(packet, T0 + i / 10)
            if i == 200:  # 20 s in: asked now, a clip of 1..3 s has left the ring, one of 16..19 s has not
                assert ring.cut(T0 + 1, T0 + 3) is None
                assert played(ring.cut(T0 + 16, T0 + 19))[1] >= 3.0
                break
    assert 0 < ring.bytes < 200_000  # about 5 s of the clip's ~1 Mbit/s
