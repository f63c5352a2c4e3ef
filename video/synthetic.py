"""Synthetic cameras, `synthetic://WIDTHxHEIGHT?fps=1&detect=0`: frames without a decoder, for scale tests.

A synthetic camera has no thread and no decoder: its frames are due on the clock (one every 1/fps s since it
started) and the newest is handed out, as one constant blank frame, when the shard takes it. So a shard process
hosts hundreds of them and a control-plane simulation (loadtest/fleet_sim.py) runs 10,417 on two cores. With
`detect=0` the shard analyses its frames with no detections instead of sending them to the Detector, so
heartbeats, states, rates and latencies are real while no model runs. The decode settings of the camera do not
apply. Allowed wherever local files are (`allow_files`): never in production.
"""

from __future__ import annotations

import time
from functools import cache

import numpy as np

from matakota.config import SourceConfig
from matakota.core.messages import CameraState
from matakota.core.urls import parse_synthetic
from matakota.video.decode import VideoFrame
from matakota.video.reader import ReaderStats


@cache
def blank_frame(width: int, height: int) -> np.ndarray:
    """One read-only grey BGR frame per size, shared by every camera of that size."""
    image = np.full((height, width, 3), 114, np.uint8)
    image.flags.writeable = False
    return image


class SyntheticReader:
    """The CameraReader interface (take, latest, stats, stop) for a synthetic camera, on the clock, threadless."""

    ring = None  # no compressed stream: no clips

    def __init__(self, camera_id: str, source: SourceConfig) -> None:
        self.camera_id, self.source = camera_id, source
        self.spec = parse_synthetic(source.url)
        self._image = blank_frame(self.spec.width, self.spec.height)
        self._period = 1.0 / self.spec.fps
        self._started, self._epoch = time.monotonic(), time.time()
        self._taken = -1  # index of the last frame taken
        self._dropped = 0
        self._stopped = False
        self._url = source.redacted_url

    def __repr__(self) -> str:
        return f"SyntheticReader({self.camera_id!r}, {self._url!r}, state={self.state.value})"

    def _newest(self) -> int:
        """Index of the newest frame due: frame 0 at once, then one every period."""
        return int((time.monotonic() - self._started) / self._period)

    def _frame(self, index: int) -> VideoFrame:
        pts = index * self._period
        return VideoFrame(self.camera_id, self._image, pts, self._epoch + pts, index, True)

    def take(self, timeout: float | None = None) -> VideoFrame | None:
        """The newest frame not yet taken (waiting up to `timeout` for the next one), or None."""
        if self._stopped:
            return None
        newest = self._newest()
        if newest == self._taken and timeout:
            time.sleep(min(timeout, self._started + (newest + 1) * self._period - time.monotonic()))
            newest = self._newest()
        if newest == self._taken:
            return None
        self._dropped += newest - self._taken - 1
        self._taken = newest
        return self._frame(newest)

    def latest(self) -> VideoFrame | None:
        return None if self._stopped else self._frame(self._newest())

    @property
    def state(self) -> CameraState:
        return CameraState.OFFLINE if self._stopped else CameraState.ONLINE

    @property
    def alive(self) -> bool:
        return not self._stopped

    def stats(self) -> ReaderStats:
        emitted = self._newest() + 1
        steady = round(self.spec.fps, 2) if emitted > 1 else 0.0  # a rate needs two frames, as RateMeter's
        age = time.monotonic() - self._started - (emitted - 1) * self._period
        return ReaderStats(self.camera_id, self._url, self.state, "stopped" if self._stopped else "",
                           emitted, emitted, self._dropped, emitted, 0, 0, 0, steady, steady, age)

    def request_stop(self) -> None:
        self._stopped = True

    def join(self, timeout: float | None = None) -> bool:
        return True

    def stop(self, timeout: float | None = None) -> bool:
        self.request_stop()
        return True
