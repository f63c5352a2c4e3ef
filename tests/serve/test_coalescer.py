"""Uploads grouped into one Detector call: in order, bounded, errors to every caller of the group."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from matakota.core.detections import Detections
from matakota.models.frames import FrameBatch
from matakota.serve.coalescer import DetectorBusy, FrameCoalescer


class FakeDetector:
    """A Detector handle whose calls take `delay` seconds and answer each frame with its own pixel value."""

    def __init__(self, delay: float = 0.05, error: Exception | None = None) -> None:
        self.calls: list[int] = []
        self.detect = self  # handle.detect.remote(...)
        self.delay, self.error = delay, error

    async def remote(self, batch: FrameBatch) -> list[Detections]:
        self.calls.append(len(batch))
        await asyncio.sleep(self.delay)
        if self.error:
            raise self.error
        return [Detections(np.array([[0, 0, 1, 1]], np.float32) * frame[0, 0, 0], np.ones(1, np.float32),
                           np.zeros(1, np.int64)) for frame in batch.frames]


def frame(value: int) -> FrameBatch:
    return FrameBatch(np.full((1, 4, 4, 3), value, np.uint8), np.ones(1, np.float32), np.full((1, 2), 4, np.int32))


async def send(coalescer: FrameCoalescer, values) -> list:
    return await asyncio.gather(*(coalescer.detect(frame(v)) for v in values), return_exceptions=True)


def test_concurrent_uploads_share_calls_and_get_their_own_detections():
    detector = FakeDetector()
    results = asyncio.run(send(FrameCoalescer(detector, max_frames=8, max_in_flight=1), range(1, 21)))
    assert [r[0].xyxy[0, 2] for r in results] == list(range(1, 21))
    assert sum(detector.calls) == 20 and max(detector.calls) == 8 and len(detector.calls) <= 4, detector.calls


def test_a_lone_upload_is_sent_at_once():
    detector = FakeDetector(delay=0.0)
    coalescer = FrameCoalescer(detector)

    async def one_after_another():
        return [await coalescer.detect(frame(v)) for v in (1, 2, 3)]

    assert len(asyncio.run(one_after_another())) == 3 and detector.calls == [1, 1, 1]


def test_beyond_the_waiting_bound_uploads_are_refused_not_queued():
    detector = FakeDetector()
    results = asyncio.run(send(FrameCoalescer(detector, max_frames=2, max_waiting=4, max_in_flight=1), range(10)))
    refused = [r for r in results if isinstance(r, DetectorBusy)]
    assert len(refused) == 10 - 4 and sum(detector.calls) == 4


def test_a_failed_call_fails_every_upload_in_it():
    results = asyncio.run(send(FrameCoalescer(FakeDetector(error=RuntimeError("boom"))), range(5)))
    assert all(isinstance(r, RuntimeError) for r in results)


@pytest.mark.timeout(10)
def test_a_cancelled_upload_is_not_sent():
    detector = FakeDetector()
    coalescer = FrameCoalescer(detector, max_in_flight=1)

    async def cancel_one():
        first = asyncio.ensure_future(coalescer.detect(frame(1)))
        await asyncio.sleep(0.01)  # the first call is out; the next two wait
        gone = asyncio.ensure_future(coalescer.detect(frame(2)))
        kept = asyncio.ensure_future(coalescer.detect(frame(3)))
        await asyncio.sleep(0)
        gone.cancel()
        return await first, await kept

    first, kept = asyncio.run(cancel_one())
    assert kept[0].xyxy[0, 2] == 3 and detector.calls == [1, 1]
