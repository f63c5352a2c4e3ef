"""The shard's plate reader: a broken OCR engine costs no counts or events (the read is unread, counted), and reads
run on a thread of their own, so the frames go on being analysed while one is under way. The engine is faked at the
process edge (models/plate_ocr.py's `read(frame, box)`); the analytics are the real ones."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

from matakota.actors.plate_reading import PlateReading, PlateWorker
from matakota.analytics.camera import CameraAnalytics
from matakota.config.analytics import CameraAnalyticsConfig
from matakota.core.events import EventState
from matakota.models.plate_ocr import OcrResult
from tests.analytics.synthetic_scenes import dets

pytestmark = pytest.mark.timeout(30)
CAR = [200, 250, 320, 330]
FRAME = np.zeros((432, 768, 3), np.uint8)
T0 = 1_796_094_000.0  # 2026-12-01 10:00 WIB


class Broken:
    def read(self, frame, box):
        raise RuntimeError("onnxruntime: invalid input shape")


class Gated:
    """Reads `H 1234 AB` once `gate` is open; counts the reads asked for."""

    def __init__(self) -> None:
        self.gate, self.entered, self.calls = threading.Event(), threading.Event(), 0

    def read(self, frame, box):
        self.calls += 1
        self.entered.set()
        assert self.gate.wait(20), "never released"
        return OcrResult((("H 1234 AB", 0.95, (10.0, 10.0, 90.0, 30.0)),), np.zeros((40, 120, 3), np.uint8))


def analytics() -> CameraAnalytics:
    config = CameraAnalyticsConfig.model_validate({
        "zones": [{"name": "bahu-jalan", "kind": "no_parking", "polygon": [[0, 100], [600, 100], [600, 400],
                                                                             [0, 400]]}],
        "count_interval_s": 10,
        "rules": [{"type": "parking", "zone": "bahu-jalan", "max_stationary_s": 60, "plate_lead_s": 30,
                   "plate_every_s": 5, "plate_reads": 2, "plate_min_votes": 2}]})
    return CameraAnalytics("cam-1", "simpang-lima", config)


def run(camera: CameraAnalytics, read_plate, seconds: range):
    return [camera.update(dets([CAR], ids=[1], cls=[2]), T0 + t, FRAME, read_plate) for t in seconds]


def test_a_read_that_raises_costs_no_counts_or_events():
    reading = PlateReading(engine=Broken())
    results = run(analytics(), reading, range(0, 90, 2))
    started = [e for r in results for e in r.events if e.state is EventState.STARTED]
    assert len(started) == 1 and started[0].payload["plate"] == "unread"
    assert sum(len(r.counts) for r in results) >= 8  # every 10 s interval's counts went out
    reads, plates, errors, _ = reading.totals()
    assert errors == reads == 2 and plates == 0  # counted (matakota_plate_read_errors_total)


def test_reads_run_on_their_own_thread_and_fold_in_on_a_later_frame():
    engine = Gated()
    worker = PlateWorker(PlateReading(engine=engine))
    camera = analytics()
    results = run(camera, worker, range(0, 50))  # reads are due from 30 s; the engine is stuck in the first one
    assert engine.entered.wait(10) and engine.calls == 1  # one read at a time for a spot, never queued twice
    assert [r.t for r in results][-1] == T0 + 49  # the frames went on meanwhile
    assert pickle.loads(pickle.dumps(camera)).update(dets([CAR], ids=[1], cls=[2]), T0 + 49.5)  # a move meanwhile
    engine.gate.set()
    worker.join()  # frames here come faster than reads: each read is answered before the next frame

    def read_then_wait(frame, box):
        future = worker(frame, box)
        worker.join()
        return future

    results = run(camera, read_then_wait, range(50, 90))
    started = next(e for r in results for e in r.events if e.state is EventState.STARTED)
    assert (started.payload["plate"], started.payload["plate_votes"]) == ("H 1234 AB", 2)
    assert started.id in next(r.cases for r in results if r.cases)
    assert worker.reading.totals()[:3] == (2, 2, 0)


def test_a_full_queue_refuses_reads_instead_of_queueing_frames():
    engine = Gated()
    worker = PlateWorker(PlateReading(engine=engine), max_queued=1)
    answers = [worker(FRAME, CAR) for _ in range(4)]  # the thread holds one, the queue one more
    assert answers.count(None) >= 2 and worker.busy == answers.count(None)
    engine.gate.set()
    assert all(a.result(10)[0].plate == "H 1234 AB" for a in answers if a is not None)
