"""Decode one opened source into frames: keyframes-only, sampled at N fps, or all; optional downscale.

`decode_frames()` is a generator over an open PyAV container. It paces files at their native rate, loops
them when asked, and raises StreamStalledError when no frame decodes within the stall timeout. The camera
thread around it (reconnects, newest-frame slot, stats) is `video/reader.py`'s `CameraReader`.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import av
import numpy as np

from matakota.config import DecodeConfig, DecodeMode, HwAccel
from matakota.core.errors import StreamEndedError, StreamStalledError
from matakota.video.hwaccel import DecoderChoice, open_stream_decoder
from matakota.video.keyframes import KEYFRAMES


@dataclass(frozen=True, eq=False)
class VideoFrame:
    """One emitted frame. `image` is BGR uint8 (H, W, 3), read-only; `pts_s` is stream time in seconds
    (pts × time_base, continuing across file loops); `received_at` is wall-clock `time.time()` at decode."""

    camera_id: str
    image: np.ndarray
    pts_s: float
    received_at: float
    index: int
    keyframe: bool

    def __repr__(self) -> str:
        return (f"VideoFrame(camera_id={self.camera_id!r}, shape={self.image.shape}, pts_s={self.pts_s:.3f}, "
                f"index={self.index}, keyframe={self.keyframe})")


@dataclass(frozen=True)
class Decoded:
    """What `decode_frames` yields per decoded frame; `image` is None when the frame is not emitted."""

    image: np.ndarray | None
    pts_s: float
    keyframe: bool


def fit_size(width: int, height: int, max_w: int | None, max_h: int | None) -> tuple[int, int]:
    """Largest size within (max_w, max_h) with the same aspect; never upscales; even dimensions."""
    scale = min(1.0, (max_w or width) / width, (max_h or height) / height)
    if scale >= 1.0:
        return width, height
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


class Sampler:
    """Emit-or-skip by stream timestamp at a target rate; a jump in time restarts the schedule."""

    def __init__(self, fps: float | None):
        self.period = 1.0 / fps if fps else 0.0
        self.next_due = -math.inf

    def take(self, pts_s: float) -> bool:
        if pts_s + 1e-6 < self.next_due and self.next_due - pts_s <= self.period:
            return False
        late = pts_s - self.next_due
        self.next_due = self.next_due + self.period if 0 <= late < self.period else pts_s + self.period
        return True


class Pacer:
    """Sleeps so that stream time advances no faster than wall time (for files behaving like cameras)."""

    def __init__(self, stop: threading.Event, clock: Callable[[], float] = time.monotonic):
        self.stop, self.clock = stop, clock
        self.origin: tuple[float, float] | None = None  # (wall, pts)

    def wait(self, pts_s: float) -> None:
        if self.origin is None:
            self.origin = (self.clock(), pts_s)
            return
        delay = self.origin[0] + (pts_s - self.origin[1]) - self.clock()
        if delay > 5.0:  # a timestamp jump: re-anchor instead of sleeping for ever
            self.origin = (self.clock(), pts_s)
        elif delay > 0:
            self.stop.wait(delay)


def configure_stream(stream: av.video.stream.VideoStream, cfg: DecodeConfig) -> None:
    ctx = stream.codec_context
    ctx.thread_count = cfg.decoder_threads  # always: PyAV's default (0) is a slice thread per core, per camera
    if cfg.decoder_threads != 1:
        ctx.thread_type = "AUTO"


def decode_frames(container: av.container.InputContainer, cfg: DecodeConfig, stop: threading.Event, *,
                  loop: bool = False, paced: bool = False, ring=None, camera_id: str = "",
                  on_decoder: Callable[[DecoderChoice], None] | None = None) -> Iterator[Decoded]:
    """Yield every decoded frame (image only on the emitted ones) until EOF or `stop`; every packet (decoded or
    not) goes to `ring` (a `PacketRing`, for event clips) when given. `on_decoder` hears once which decoder
    the session uses (`cfg.hwaccel`'s device, or the CPU and why: video/hwaccel.py).

    Raises StreamStalledError (nothing decoded within `stall_timeout_s`) or StreamEndedError at the
    end of a live stream / a file that is not looped.
    """
    stream = container.streams.video[0]
    configure_stream(stream, cfg)
    if ring is not None:
        ring.start_session(stream)
    sampler = Sampler(cfg.sample_fps if cfg.mode is DecodeMode.SAMPLED else None)
    pacer = Pacer(stop) if paced else None
    keyframes_only = cfg.mode is DecodeMode.KEYFRAMES  # decoded on the process's shared keyframe decoders
    device_decoder, choice = open_stream_decoder(stream, cfg.hwaccel, camera_id)
    hwaccel = cfg.hwaccel if choice.fallback == "" else HwAccel.NONE
    if keyframes_only and device_decoder is not None:
        device_decoder = None  # the device opens: the shared keyframe decoders use it
    if on_decoder is not None:
        on_decoder(choice)

    def convert(frame: av.VideoFrame) -> np.ndarray:
        return _to_bgr(frame, fit_size(frame.width, frame.height, cfg.max_width, cfg.max_height))

    offset, last_pts, frame_s = 0.0, 0.0, 1.0 / float(stream.average_rate or 25)
    progress = time.monotonic()
    while not stop.is_set():
        for packet in _demux(container, stream):
            if stop.is_set():
                return
            if time.monotonic() - progress > cfg.stall_timeout_s:
                raise StreamStalledError(f"no frame decoded for {cfg.stall_timeout_s:.1f}s")
            if ring is not None:
                ring.add(packet, time.time())
            if keyframes_only:
                if not packet.size or not packet.is_keyframe:
                    continue  # not even handed to a decoder
                frames = KEYFRAMES.decode(stream, packet, lambda frame: (frame.pts, frame.time_base, convert(frame)),
                                          hwaccel)
                for pts, time_base, image in frames:
                    pts_s = last_pts = offset + _seconds(pts, time_base, stream, last_pts - offset + frame_s)
                    if pacer:
                        pacer.wait(pts_s)
                    progress = time.monotonic()
                    yield Decoded(image, pts_s, True)
                continue
            for frame in (packet.decode() if device_decoder is None else _device_decode(device_decoder, packet)):
                pts_s = last_pts = offset + _seconds(frame.pts, frame.time_base, stream, last_pts - offset + frame_s)
                emit = sampler.take(pts_s)
                if emit and pacer:
                    pacer.wait(pts_s)
                progress = time.monotonic()
                yield Decoded(convert(frame) if emit else None, pts_s, bool(frame.key_frame))
        if not loop:
            raise StreamEndedError("end of stream")
        container.seek(0)  # flushes the stream's own decoder, not a device one
        if device_decoder is not None:
            device_decoder.flush_buffers()
        offset = last_pts + frame_s
        progress = time.monotonic()


def _demux(container, stream) -> Iterator[av.Packet]:
    """Packets of `stream`; PyAV's read deadline (an interrupted read) counts as a stall."""
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except (av.error.ExitError, TimeoutError):
            raise StreamStalledError("no data within the read timeout") from None
        yield packet


def _device_decode(decoder: av.CodecContext, packet: av.Packet) -> list[av.VideoFrame]:
    """`packet` through a decoder of our own; demuxing's final empty packet drains it, as `packet.decode()`."""
    return decoder.decode(packet if packet.size else None)


def _seconds(pts: int | None, time_base, stream, fallback: float) -> float:
    if pts is None:
        return fallback
    return float((pts - (stream.start_time or 0)) * (time_base or stream.time_base))


def _to_bgr(frame: av.VideoFrame, size: tuple[int, int]) -> np.ndarray:
    if size != (frame.width, frame.height):
        frame = frame.reformat(width=size[0], height=size[1], format="bgr24", interpolation="AREA")
    image = frame.to_ndarray(format="bgr24")
    image.flags.writeable = False
    return image
