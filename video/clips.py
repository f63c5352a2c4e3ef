"""A camera's last seconds of compressed video, kept as it arrived (packets: no decode, no re-encode), and cut into
MP4 clips around events by remuxing.

    ring = PacketRing(keep_s=12)               # the reader's decode loop calls ring.add(packet, t) for every packet
    ring.request("event-id", t - 5, t + 5)     # a clip of [t-5, t+5], cut once t+5 has arrived
    ring.take_done()                           # → [("event-id", b"...mp4" or None)]

Every PyAV object is touched by the reader's thread only: `add` cuts the clips that are due with the stream that is
open, and `end_session` cuts what is pending before the stream closes (a reconnect starts a new ring session). The
clip starts at the last keyframe at or before its start, so it plays from its first frame; packet times are
rebased on arrival time (a looped file's timestamps restart; a live stream's may jump). The container is MP4 with
the camera's own codec: H.264 plays in every browser; H.265 plays where the browser decodes it (Safari, Edge with
hardware support) and downloads elsewhere; MJPEG and others are stored but rarely play inline.
"""

from __future__ import annotations

import io
import threading
from collections import deque
from dataclasses import dataclass

import av

MAX_PENDING = 64  # clips waiting to be cut per camera (an alarm storm drops the oldest requests)


@dataclass(frozen=True)
class _Packet:
    t: float  # epoch seconds it arrived
    data: bytes
    pts: int | None
    dts: int | None
    keyframe: bool


class PacketRing:
    def __init__(self, keep_s: float) -> None:
        self.keep_s = keep_s
        self._packets: deque[_Packet] = deque()
        self._stream = None
        self._pending: deque[tuple[str, float, float]] = deque(maxlen=MAX_PENDING)
        self._done: list[tuple[str, bytes | None]] = []
        self._lock = threading.Lock()  # `request` and `take_done` come from the shard's threads
        self.bytes = 0

    # ---- the reader's thread
    def start_session(self, stream) -> None:
        self._packets.clear()
        self.bytes = 0
        self._stream = stream

    def add(self, packet: av.Packet, t: float) -> None:
        if not packet.size:
            return
        self._packets.append(_Packet(t, bytes(packet), packet.pts, packet.dts, bool(packet.is_keyframe)))
        self.bytes += packet.size
        while t - self._packets[0].t > self.keep_s:
            self.bytes -= len(self._packets.popleft().data)
        self._cut_due(t)

    def end_session(self) -> None:
        """The stream is about to close: cut every pending clip with what there is."""
        self._cut_due(float("inf"))
        self._stream = None

    def _cut_due(self, now: float) -> None:
        with self._lock:
            due = [p for p in self._pending if p[2] <= now]
            for item in due:
                self._pending.remove(item)
        for key, start, end in due:
            clip = self.cut(start, end)
            with self._lock:
                self._done.append((key, clip))

    def cut(self, start: float, end: float) -> bytes | None:
        """MP4 of the packets that arrived in [start, end], from the last keyframe at or before start (its
        `comment` metadata says `start=<epoch seconds>` of the first frame); None when the ring holds none of it
        (the camera was away)."""
        packets = list(self._packets)
        first = next((i for i in range(len(packets) - 1, -1, -1) if packets[i].keyframe and packets[i].t <= start),
                     next((i for i, p in enumerate(packets) if p.keyframe and p.t >= start), None))
        if self._stream is None or first is None:
            return None
        chosen = [p for p in packets[first:] if p.t <= end]
        if not chosen:
            return None
        buffer = io.BytesIO()
        with av.open(buffer, "w", format="mp4") as out:
            out.metadata["comment"] = f"start={chosen[0].t:.3f}"  # epoch seconds of its first frame
            stream = out.add_stream_from_template(self._stream)
            base = self._stream.time_base
            t0, last_dts = chosen[0].t, -1
            for p in chosen:
                dts = max(round((p.t - t0) / base), last_dts + 1)
                shift = (p.pts - p.dts) if p.pts is not None and p.dts is not None else 0
                packet = av.Packet(p.data)
                packet.dts, packet.pts, packet.time_base, packet.stream = dts, dts + max(0, shift), base, stream
                packet.is_keyframe = p.keyframe
                out.mux(packet)
                last_dts = dts
        return buffer.getvalue()

    # ---- the shard's threads
    def request(self, key: str, start: float, end: float) -> None:
        with self._lock:
            self._pending.append((key, start, end))

    def take_done(self) -> list[tuple[str, bytes | None]]:
        with self._lock:
            done, self._done = self._done, []
        return done
