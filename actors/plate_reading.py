"""The shard's plate reader: one OCR engine per process (models/plate_ocr.py), created at the first read, and the
readings as analytics/parking.py asks for them (`read_plate(frame, box)`). Reads and their CPU time are counted:
the cost is per read, never per frame (loadtest/bench_anpr.py measures it)."""

from __future__ import annotations

import threading
import time

import numpy as np

from matakota.analytics.plates import PlateText, plate_from_lines

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
    `PLATE_READING`, shared by its cameras like the engine: the shard exports its totals)."""

    def __init__(self) -> None:
        self.reads, self.plates, self.cpu_s = 0, 0, 0.0

    def __call__(self, frame: np.ndarray, box) -> tuple[PlateText | None, np.ndarray | None]:
        started = time.thread_time()
        result = _ocr().read(frame, box)
        reading = plate_from_lines(list(result.lines))
        self.cpu_s += time.thread_time() - started
        self.reads += 1
        if reading is None:
            return None, None
        self.plates += 1
        picture = result.region(reading.line)
        return reading, picture if picture is not None and picture.size else result.crop

    def totals(self) -> tuple[int, int, float]:
        """(reads, reads that found a plate, CPU seconds) so far."""
        return self.reads, self.plates, self.cpu_s


PLATE_READING = PlateReading()
