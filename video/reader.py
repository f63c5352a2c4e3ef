"""`CameraReader`: one thread per camera, a newest-frame-wins slot, a watchdog, reconnects with backoff."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from matakota.config import DecodeConfig, SourceConfig
from matakota.core.backoff import Backoff
from matakota.core.errors import SourceAuthError, SourceFormatError, StreamEndedError, StreamError, StreamStalledError
from matakota.core.messages import CameraState
from matakota.core.redact import Redactor
from matakota.core.stats import RateMeter
from matakota.core.urls import SourceKind
from matakota.video.clips import PacketRing
from matakota.video.decode import VideoFrame, decode_frames
from matakota.video.hwaccel import CPU, DecoderChoice
from matakota.video.sources import classify, open_source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReaderStats:
    camera_id: str
    url: str  # redacted
    state: CameraState
    reason: str  # why the last state change happened (redacted); "" when healthy
    frames_decoded: int
    frames_emitted: int
    frames_dropped: int  # emitted but overwritten before anyone took them
    keyframes: int
    reconnects: int
    stalls: int
    errors: int
    fps_in: float  # decoded frames/s over the last few seconds
    fps_out: float  # emitted frames/s
    last_frame_age_s: float | None  # since the last decoded frame; None before the first
    decoder: str = CPU  # "cpu", or the device decoding this session ("cuda": decode.hwaccel)
    hwaccel_fallback: str = ""  # why decode.hwaccel's device is not used this session; "" when it is (or none)


class FrameSlot:
    """Depth-1 mailbox: a new frame replaces an untaken one (counted as dropped)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._frame: VideoFrame | None = None
        self._fresh = False
        self.dropped = 0

    def put(self, frame: VideoFrame) -> None:
        with self._cond:
            self.dropped += self._fresh
            self._frame, self._fresh = frame, True
            self._cond.notify_all()

    def latest(self) -> VideoFrame | None:
        with self._cond:
            return self._frame

    def take(self, timeout: float | None = None) -> VideoFrame | None:
        with self._cond:
            if not self._fresh and timeout:
                self._cond.wait_for(lambda: self._fresh, timeout)
            if not self._fresh:
                return None
            self._fresh = False
            return self._frame


class CameraReader:
    """Reads one camera on its own daemon thread until `stop()`.

    `take()` gives the newest frame not yet taken (or None), `latest()` the newest frame seen;
    `stats()` the state, reason and counters. Nothing here blocks longer than the configured timeouts.
    """

    def __init__(self, camera_id: str, source: SourceConfig, decode: DecodeConfig | None = None, *,
                 backoff: Backoff | None = None, start: bool = True, ring: PacketRing | None = None):
        self.camera_id, self.source = camera_id, source
        self.ring = ring  # the last seconds of packets, for event clips (video/clips.py)
        self.decode = decode or DecodeConfig()
        self._backoff = backoff or Backoff()
        self._redact = Redactor(source.url)
        self._stop = threading.Event()
        self._slot = FrameSlot()
        self._lock = threading.Lock()
        self._state, self._reason = CameraState.CONNECTING, ""
        self._counts = dict.fromkeys(("decoded", "emitted", "keyframes", "reconnects", "stalls", "errors"), 0)
        self._fps_in, self._fps_out = RateMeter(), RateMeter()
        self._last_frame_at: float | None = None
        self._decoder = DecoderChoice()
        self._thread = threading.Thread(target=self._run, name=f"camera-{camera_id}", daemon=True)
        if start:
            self.start()

    def __repr__(self) -> str:
        return f"CameraReader({self.camera_id!r}, {self._redact.redacted!r}, state={self._state.value})"

    # ---- public
    def start(self) -> None:
        self._thread.start()

    def take(self, timeout: float | None = None) -> VideoFrame | None:
        return self._slot.take(timeout)

    def latest(self) -> VideoFrame | None:
        return self._slot.latest()

    @property
    def state(self) -> CameraState:
        return self._state

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stats(self) -> ReaderStats:
        with self._lock:
            c, last = dict(self._counts), self._last_frame_at
            state, reason, decoder = self._state, self._reason, self._decoder
        return ReaderStats(self.camera_id, self._redact.redacted, state, reason, c["decoded"], c["emitted"],
                           self._slot.dropped, c["keyframes"], c["reconnects"], c["stalls"], c["errors"],
                           round(self._fps_in.rate(), 2), round(self._fps_out.rate(), 2),
                           None if last is None else time.monotonic() - last, decoder.name, decoder.fallback)

    def request_stop(self) -> None:
        """Ask the thread to finish; pair with `join()` to stop many readers in parallel."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop and join; returns False if the thread is still blocked after `timeout` (default: the
        source's read timeout + 2 s, the longest any blocking call may last)."""
        self.request_stop()
        joined = self.join(self.source.read_timeout_s + 2.0 if timeout is None else timeout)
        if not joined:
            log.warning("camera %s: reader thread did not stop in time", self.camera_id)
        return joined

    # ---- the thread
    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            if not first:
                self._count("reconnects")
            first = False
            self._set_state(CameraState.CONNECTING, self._reason)
            try:
                self._session()
            except StreamEndedError as exc:
                if self.source.kind is SourceKind.FILE and not self.source.loop:
                    self._set_state(CameraState.OFFLINE, "end of file")
                    return
                self._fail(CameraState.OFFLINE, exc)
            except (SourceAuthError, SourceFormatError) as exc:
                self._fail(CameraState.ERROR, exc)
            except StreamError as exc:
                if isinstance(exc, StreamStalledError):
                    self._count("stalls")
                self._fail(CameraState.OFFLINE, exc)
            except Exception as exc:  # noqa: BLE001 - a camera thread never dies on a surprise
                self._fail(CameraState.ERROR, classify(exc, self._redact))
            if self._stop.wait(self._backoff.next_delay()):
                break
        self._set_state(CameraState.OFFLINE, "stopped")

    def _session(self) -> None:
        container = open_source(self.source)
        try:
            frames = decode_frames(container, self.decode, self._stop,
                                   loop=self.source.loop, paced=self.source.paced and
                                   self.source.kind is SourceKind.FILE, ring=self.ring,
                                   camera_id=self.camera_id, on_decoder=self._on_decoder)
            try:
                for item in frames:
                    self._on_decoded(item)
            except StreamError:
                raise
            except Exception as exc:  # noqa: BLE001 - decode errors carry the URL: classify = redact
                raise classify(exc, self._redact) from None
        finally:
            if self.ring is not None:
                self.ring.end_session()  # pending clips are cut while the stream is still open
            container.close()

    def _on_decoder(self, choice: DecoderChoice) -> None:
        with self._lock:
            self._decoder = DecoderChoice(choice.name, self._redact(choice.fallback))

    def _on_decoded(self, item) -> None:
        now = time.monotonic()
        self._fps_in.add()
        with self._lock:
            self._last_frame_at = now
            self._counts["decoded"] += 1
            self._counts["keyframes"] += item.keyframe
            if self._state is not CameraState.ONLINE:
                self._state, self._reason = CameraState.ONLINE, ""
                self._backoff.reset()
                log.info("camera %s online", self.camera_id)
            if item.image is None:
                return
            index = self._counts["emitted"]
            self._counts["emitted"] += 1
        self._fps_out.add()
        self._slot.put(VideoFrame(self.camera_id, item.image, item.pts_s, time.time(), index, item.keyframe))

    def _fail(self, state: CameraState, exc: BaseException) -> None:
        reason = self._redact(exc)
        self._count("errors")
        self._set_state(state, reason)
        log.warning("camera %s %s: %s", self.camera_id, state.value, reason)

    def _set_state(self, state: CameraState, reason: str) -> None:
        with self._lock:
            self._state, self._reason = state, self._redact(reason)

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1
