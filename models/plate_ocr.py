"""Plate OCR: RapidOCR's PP-OCR text detection and recognition (ONNX models inside its wheel, run offline on the
installed ONNX Runtime) on the lower part of a vehicle's box, where its plate is (docs/architecture.md, "Parking
cases and plates").

`PlateOcr.read(frame, box)` returns the OCR lines (text, confidence, box in crop pixels) and the crop they were read
from; analytics/plates.py turns them into a plate. One read costs tens of milliseconds of one core, so the parking
watch asks for a few reads per vehicle about to become a violation, never one per frame.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

SEARCH_FROM = 0.35  # the plate is searched below this fraction of the vehicle box's height (bumper, not roof)
MIN_CROP_WIDTH = 160  # smaller crops are upscaled to this width before detection (a plate of ~40 px stays legible)
MAX_SIDE = 640  # text detection runs at most at this size (cost grows with the area)

Line = tuple[str, float, tuple[float, float, float, float]]


@dataclass(frozen=True)
class OcrResult:
    lines: tuple[Line, ...]  # text, confidence, box (x0, y0, x1, y1) in `crop` pixels
    crop: np.ndarray  # the part of the vehicle that was read (BGR)

    def region(self, text: str) -> np.ndarray | None:
        """The crop of the line that read `text` (the plate's picture for the evidence), padded a little."""
        for line, _, (x0, y0, x1, y1) in self.lines:
            if line == text:
                pad_x, pad_y = (x1 - x0) * 0.15, (y1 - y0) * 0.6
                h, w = self.crop.shape[:2]
                return self.crop[int(max(0, y0 - pad_y)):int(min(h, y1 + pad_y)),
                                 int(max(0, x0 - pad_x)):int(min(w, x1 + pad_x))]
        return None


class PlateOcr:
    """PP-OCR detection + recognition on one ONNX Runtime CPU session each (`threads` intra-op threads)."""

    def __init__(self, threads: int = 1) -> None:
        from rapidocr import RapidOCR  # imported here: loading the models is what costs, once per process

        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        self._engine = RapidOCR(params={
            "Global.log_level": "error", "Global.use_cls": False,
            "Det.limit_type": "max", "Det.limit_side_len": MAX_SIDE,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        })

    def read(self, frame_bgr: np.ndarray, box) -> OcrResult:
        """OCR the lower part of the vehicle `box` (x0, y0, x1, y1, frame pixels) of `frame_bgr`."""
        height, width = frame_bgr.shape[:2]
        x0, y0, x1, y1 = (float(v) for v in box)
        top = y0 + (y1 - y0) * SEARCH_FROM
        crop = frame_bgr[int(max(0, top)):int(min(height, y1)), int(max(0, x0)):int(min(width, x1))]
        if crop.size == 0:
            return OcrResult((), crop)
        if crop.shape[1] < MIN_CROP_WIDTH:
            scale = MIN_CROP_WIDTH / crop.shape[1]
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        return OcrResult(self.read_lines(crop), crop)

    def read_lines(self, image_bgr: np.ndarray) -> tuple[Line, ...]:
        output = self._engine(np.ascontiguousarray(image_bgr))
        if output.txts is None:
            return ()
        lines = []
        for text, score, points in zip(output.txts, output.scores, output.boxes):
            points = np.asarray(points, dtype=np.float64)
            lines.append((str(text), float(score), (*points.min(axis=0), *points.max(axis=0))))
        return tuple(lines)
