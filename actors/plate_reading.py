"""The shard's plate reader: one OCR engine per process (models/plate_ocr.py) and the readings as
analytics/parking.py asks for them (`read_plate(frame, box)`).

`PlateReading` reads where it is called; a read that raises is counted (`errors`, logged once per process) and
answered as unread, so a broken engine never costs a frame's counts or events. `PlateWorker` is what the shard
uses: each read goes to ONE thread per process through a bounded queue and comes back as a `Future` that the
parking watch folds into the spot's votes on a later frame, so a read (~0.1 s CPU) never holds up the shard's event
loop; a full queue answers None (the spot asks again later), and when a sign's hours begin and many parked cars
are due at once the thread takes them in turn. Reads and their CPU time are counted: the cost is per read, never per
frame (loadtest/bench_anpr.py measures it)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future

import numpy as np

from matakota.analytics.plates import PlateText, plate_from_lines

log = logging.getLogger("matakota.plates")
MAX_QUEUED = 16  # reads waiting for the thread (crops of the vehicles' boxes, not frames)

_lock = threading.Lock()
_engine = None


def _ocr():
    global _engine
    with _lock:
        if _engine is None:
            from matakota.models.plate_ocr import PlateOcr

            _engine = PlateOcr()
        return _engine


class PlateReading:
    """Callable `read_plate(frame, box) → (PlateText | None, plate picture | None)` with counters (one per process,
    `PLATE_READING`, shared by its cameras like the engine: the shard exports its totals). `engine`: an object with
    `read(frame, box)` in place of the process's OCR engine."""

    def __init__(self, engine=None) -> None:
        self.reads, self.plates, self.errors, self.cpu_s = 0, 0, 0, 0.0
        self._engine = engine

    def engine(self):
        return self._engine if self._engine is not None else _ocr()

    def __call__(self, frame: np.ndarray, box) -> tuple[PlateText | None, np.ndarray | None]:
        started = time.thread_time()
        try:
            result = self.engine().read(frame, box)
            reading = plate_from_lines(list(result.lines))
        except Exception as error:  # noqa: BLE001 - a failed read is an unread plate, never a lost frame
            self.errors += 1
            if self.errors == 1:
                log.exception("plate read failed (counted in matakota_plate_read_errors_total, logged once): %s",
                              type(error).__name__)
            return None, None
        finally:
            self.cpu_s += time.thread_time() - started
            self.reads += 1
        if reading is None:
            return None, None
        self.plates += 1
        picture = result.region(reading.line)
        return reading, picture if picture is not None and picture.size else result.crop

    def totals(self) -> tuple[int, int, int, float]:
        """(reads, reads that found a plate, reads that failed, CPU seconds) so far."""
        return self.reads, self.plates, self.errors, self.cpu_s


class PlateWorker:
    """`read_plate(frame, box) → Future | None` run on one thread of its own (`start` it when the first camera that
    reads plates starts: the engine loads there, not on the event loop and not at the first read)."""

    def __init__(self, reading: PlateReading, max_queued: int = MAX_QUEUED) -> None:
        self.reading = reading
        self.busy = 0  # reads refused because the queue was full
        self._queue: queue.Queue = queue.Queue(max_queued)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with _lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="plate-reader", daemon=True)
                self._thread.start()

    def __call__(self, frame: np.ndarray, box) -> Future | None:
        self.start()
        crop, crop_box = _box_region(frame, box)  # the thread never touches the frame itself
        future: Future = Future()
        try:
            self._queue.put_nowait((future, crop, crop_box))
        except queue.Full:
            self.busy += 1
            return None
        return future

    def _work(self) -> None:
        try:
            self.reading.engine()
        except Exception:  # noqa: BLE001 - each read will fail, counted, and say why
            log.exception("plate OCR engine failed to load")
        while True:
            future, crop, crop_box = self._queue.get()
            if future.set_running_or_notify_cancel():
                future.set_result(self.reading(crop, crop_box))
            self._queue.task_done()

    def join(self) -> None:
        """Wait until every read asked for so far is answered (for tests: a shard never waits for a read)."""
        self._queue.join()


def _box_region(frame: np.ndarray, box) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A copy of the box's pixels and the box in that copy's coordinates (what the OCR reads is inside the box)."""
    height, width = frame.shape[:2]
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
    crop = frame[y0:max(y0, y1), x0:max(x0, x1)].copy()
    return crop, (float(box[0]) - x0, float(box[1]) - y0, float(box[2]) - x0, float(box[3]) - y0)


PLATE_READING = PlateReading()
PLATE_WORKER = PlateWorker(PLATE_READING)
