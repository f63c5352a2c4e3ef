"""The picture an operator sees of a camera: its newest analysed frame with the detections (and track ids), zones and
lines drawn, people and vehicles' plates pixelated unless the viewer may see them, downscaled, as JPEG. Rendered only
when asked."""

from __future__ import annotations

import cv2
import numpy as np

from matakota.analytics.evidence import blur_boxes, plate_area
from matakota.core.detections import PERSON, VEHICLES, Detections

ZONE_BGR = (255, 200, 0)
LINE_BGR = (0, 255, 255)
PERSON_BGR = (0, 200, 0)
OTHER_BGR = (0, 140, 255)
MAX_WIDTH = 3840


def render_frame(image: np.ndarray, detections: Detections, zones: dict[str, np.ndarray] | None = None,
                 lines: dict[str, tuple] | None = None, *, overlay: bool = True, blur: bool = True,
                 width: int | None = None, quality: int = 80) -> bytes:
    """JPEG of `image` (BGR): people and the plate area of vehicles pixelated when `blur`; boxes, zones (polygons)
    and lines (start, end) drawn when `overlay`; scaled down to `width` pixels across when given (never up)."""
    hidden = [*detections.xyxy[detections.class_id == PERSON],
              *(plate_area(box) for box in detections.of_classes(VEHICLES).xyxy)] if blur else []
    out = blur_boxes(image, hidden) if hidden else image.copy()
    if overlay:
        _draw(out, detections, zones or {}, lines or {})
    if width is not None and 0 < width < out.shape[1]:
        height = max(1, round(out.shape[0] * width / out.shape[1]))
        out = cv2.resize(out, (width, height), interpolation=cv2.INTER_AREA)
    ok, buffer = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buffer.tobytes()


def _draw(out: np.ndarray, detections: Detections, zones: dict, lines: dict) -> None:
    thickness = max(2, round(min(out.shape[:2]) / 300))
    scale = max(0.4, min(out.shape[:2]) / 900)
    for name, polygon in zones.items():
        points = np.round(np.asarray(polygon)).astype(np.int32)
        cv2.polylines(out, [points], True, ZONE_BGR, thickness)
        _label(out, name, tuple(points[0]), ZONE_BGR, scale)
    for name, (start, end) in lines.items():
        a, b = (tuple(int(round(v)) for v in p) for p in (start, end))
        cv2.line(out, a, b, LINE_BGR, thickness + 1)
        _label(out, name, a, LINE_BGR, scale)
    for box, cls, track in zip(detections.xyxy, detections.class_id, detections.tracker_id):
        x0, y0, x1, y1 = (int(round(float(v))) for v in box)
        colour = PERSON_BGR if cls == PERSON else OTHER_BGR
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, thickness)
        if track >= 0:
            _label(out, f"#{track}", (x0, y0), colour, scale)


def _label(out: np.ndarray, text: str, at: tuple[int, int], colour, scale: float) -> None:
    x, y = int(at[0]), max(12, int(at[1]) - 4)
    cv2.putText(out, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
