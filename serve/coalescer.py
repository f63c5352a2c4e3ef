"""Frames of concurrent uploads go to the Detector together: one handle call per group of images, not per image.

A Serve handle call costs milliseconds of CPU at both ends (docs/architecture.md, "Facts"), as much as a
frame's inference on a small CPU, so `POST /v1/detect` hands its one frame to a `FrameCoalescer` instead of
calling the Detector itself. While `max_in_flight` calls are out, new frames wait and leave together in the next
call (up to `max_frames`, the Detector's batch); an idle API sends at once, so a lone caller waits for nothing.
The Detector then merges these calls with the shards' into its own batches (`@serve.batch`). At most
`max_waiting` frames wait (the Detector's own queue bound, as when each upload was a call of its own); beyond
that `DetectorBusy`, which the route answers with 503.
"""

from __future__ import annotations

import asyncio
from collections import deque

from matakota.core.detections import Detections
from matakota.models.frames import FrameBatch


class DetectorBusy(Exception):
    """More frames wait for the Detector than `max_waiting`."""


class FrameCoalescer:
    def __init__(self, detector, max_frames: int = 16, max_waiting: int | None = 256, max_in_flight: int = 2) -> None:
        self.detector, self.max_frames, self.max_waiting = detector, max_frames, max_waiting
        self._waiting: deque[tuple[FrameBatch, asyncio.Future]] = deque()
        self._waiting_frames = 0
        self._arrived = asyncio.Event()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task] = set()  # strong references: the loop keeps only weak ones
        self._sender: asyncio.Task | None = None

    async def detect(self, batch: FrameBatch) -> list[Detections]:
        """Detections for each frame of `batch`; the Detector's errors (e.g. `BackPressureError`) are raised here."""
        if self.max_waiting is not None and self._waiting_frames + len(batch) > self.max_waiting:
            raise DetectorBusy(f"{self.max_waiting} frames already wait for the detector")
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((batch, future))
        self._waiting_frames += len(batch)
        self._arrived.set()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_forever())
        return await future

    async def _send_forever(self) -> None:
        while True:
            await self._arrived.wait()
            await self._slots.acquire()
            group = self._take_group()
            if not group:  # every waiting caller went away
                self._slots.release()
                continue
            task = asyncio.create_task(self._send(group))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _take_group(self) -> list[tuple[FrameBatch, asyncio.Future]]:
        group, frames = [], 0
        while self._waiting and (not group or frames + len(self._waiting[0][0]) <= self.max_frames):
            batch, future = self._waiting.popleft()
            self._waiting_frames -= len(batch)
            if not future.done():  # a cancelled caller (client gone) is not sent
                group.append((batch, future))
                frames += len(batch)
        if not self._waiting:
            self._arrived.clear()
        return group

    async def _send(self, group: list[tuple[FrameBatch, asyncio.Future]]) -> None:
        try:
            batches = [batch for batch, _ in group]  # one copy of up to `max_frames` frames: off the event loop
            merged = await asyncio.to_thread(FrameBatch.concat, batches) if len(batches) > 1 else batches[0]
            detections = await self.detector.detect.remote(merged)
        except Exception as error:  # noqa: BLE001 — every caller of the group gets the Detector's error
            for _, future in group:
                if not future.done():
                    future.set_exception(error)
            return
        finally:
            self._slots.release()
        start = 0
        for batch, future in group:
            if not future.done():
                future.set_result(detections[start : start + len(batch)])
            start += len(batch)
