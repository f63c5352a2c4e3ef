"""Keyframes of every `keyframes`-mode camera in a process, decoded on a few shared threads.

A keyframe decodes on its own, so a camera needs no decoder between its keyframes. A decoder per camera keeps
two to four frames of buffers alive for a frame a second or less (≈ 13 MiB per 1080p H.264 camera, 24 MiB H.265),
and a buffer freed on a camera's own thread stays in that thread's malloc arena. Here each worker thread keeps
one decoder per stream format (codec + parameter sets), flushed after every keyframe, and converts the frame
too: memory is bounded by the workers, not by the cameras (measured: loadtest/bench_ingest.py). The camera's
thread waits for its frame, as when it decoded inline, so pacing, stall detection and the newest-frame slot
stay as they were; at most `workers` keyframes decode at once, each on one decoder thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import av

from matakota.config import HwAccel
from matakota.video.hwaccel import open_decoder

T = TypeVar("T")
WORKERS = 2  # per process (a shard): keyframes are a small share of a camera's work
FORMATS_PER_WORKER = 4  # decoders a worker keeps (a fleet's cameras share few formats)


class KeyframeDecoder:
    def __init__(self, workers: int = WORKERS):
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="keyframes")
        self._local = threading.local()

    def decode(self, stream: av.video.stream.VideoStream, packet: av.Packet,
               convert: Callable[[av.VideoFrame], T], hwaccel: HwAccel = HwAccel.NONE) -> list[T]:
        """`convert` of each frame the keyframe `packet` of `stream` decodes to, done on a worker thread, on
        `hwaccel`'s device (the camera session checked that it opens: video/hwaccel.py)."""
        key = (stream.codec_context.name, stream.codec_context.extradata, hwaccel)
        return self._pool.submit(self._decode, key, packet, convert).result()

    def _decode(self, key: tuple[str, bytes | None, HwAccel], packet: av.Packet, convert: Callable) -> list:
        decoders: dict = self._local.__dict__.setdefault("decoders", {})
        decoder = decoders.pop(key, None) or open_decoder(*key)  # one that raises is not put back
        frames = decoder.decode(packet) or decoder.decode(None)  # a decoder with delay gives it on draining
        converted = [convert(frame) for frame in frames]
        decoder.flush_buffers()
        decoders[key] = decoder  # most recently used last
        while len(decoders) > FORMATS_PER_WORKER:
            decoders.pop(next(iter(decoders)))
        return converted


KEYFRAMES = KeyframeDecoder()
