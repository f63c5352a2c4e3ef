"""Evidence images for events, in memory: the caller decides where (and whether) to store them.

Privacy by default: `event_evidence` renders what every read token is served, with every person in the frame
pixelated (`blur_boxes`), and the unblurred original only when it differs (served to `enforcement` tokens only).
A parking violation's images show the plate as taken: the API serves them through `hide_plate` to every token
without the `enforcement` scope."""

from __future__ import annotations

import cv2
import numpy as np

from matakota.core.events import Event, EventType

BOX_BGR = (0, 0, 255)
LINE_BGR = (0, 255, 255)  # the water line as read
CROP_PAD = 0.25  # context around the box in the crop, as a fraction of its size
PIXEL_BLOCKS = 6  # a person's box is pixelated to this many blocks across its width (faces: one or two blocks)
PLATE_FROM = 0.35  # a plate lies below this fraction of its vehicle box's height (models/plate_ocr.py SEARCH_FROM)
PLATE_MARGIN = 0.05  # the hidden area overhangs the vehicle box by this fraction of its size (sides and bottom)


def _jpeg(image: np.ndarray, quality: int) -> bytes:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buffer.tobytes()


def clip_box(box, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer box clipped to the frame; raises when nothing of it is inside."""
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    x0, x1 = max(0, min(x0, width)), max(0, min(x1, width))
    y0, y1 = max(0, min(y0, height)), max(0, min(y1, height))
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {tuple(box)} lies outside the {width}x{height} frame")
    return x0, y0, x1, y1


def render_evidence(frame_bgr: np.ndarray, box, quality: int = 85, line_row: float | None = None) -> tuple[bytes, bytes]:
    """(full frame with the box drawn, padded crop around the box) as JPEG bytes; `line_row` (a gauge's water line
    as read, image row) is drawn across the box, a little wider than it."""
    height, width = frame_bgr.shape[:2]
    x0, y0, x1, y1 = clip_box(box, width, height)
    full = frame_bgr.copy()
    thickness = max(2, round(min(width, height) / 200))
    cv2.rectangle(full, (x0, y0), (x1 - 1, y1 - 1), BOX_BGR, thickness)
    if line_row is not None:
        row, reach = int(round(line_row)), max(4, (x1 - x0) // 4)
        cv2.line(full, (max(0, x0 - reach), row), (min(width - 1, x1 + reach), row), LINE_BGR, thickness)
    pad_x, pad_y = int((x1 - x0) * CROP_PAD), int((y1 - y0) * CROP_PAD)
    crop = full[max(0, y0 - pad_y):min(height, y1 + pad_y), max(0, x0 - pad_x):min(width, x1 + pad_x)]
    return _jpeg(full, quality), _jpeg(crop, quality)


def blur_boxes(frame_bgr: np.ndarray, boxes) -> np.ndarray:
    """A copy with each box pixelated to blocks of a sixth of its width (irreversible), then smoothed (no block
    edges): a person stays a person-shaped blur, with no face or other detail left. Boxes outside the frame are
    skipped."""
    out = frame_bgr.copy()
    height, width = out.shape[:2]
    for box in boxes:
        try:
            x0, y0, x1, y1 = clip_box(box, width, height)
        except ValueError:
            continue
        block = max(2, (x1 - x0) // PIXEL_BLOCKS)
        small = cv2.resize(out[y0:y1, x0:x1], (max(1, (x1 - x0) // block), max(1, (y1 - y0) // block)),
                           interpolation=cv2.INTER_AREA)
        blocks = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
        out[y0:y1, x0:x1] = cv2.GaussianBlur(blocks, (0, 0), block / 2)
    return out


def event_evidence(frame_bgr: np.ndarray, event: Event, quality: int = 85,
                   people=()) -> tuple[bytes, bytes, tuple[bytes, bytes] | None]:
    """(snapshot, crop, originals) for an event with a box: the snapshot and crop with every person box of `people`
    pixelated, and the unblurred (snapshot, crop) when there was someone to blur (else None). A flood event's
    gauge reading (`payload.row`) is drawn too."""
    flood = event.type in (EventType.FLOOD_LEVEL, EventType.FLOOD_RISE)
    line_row = event.payload.get("row") if flood else None
    people = list(people)
    served = render_evidence(blur_boxes(frame_bgr, people) if people else frame_bgr, event.box, quality, line_row)
    return (*served, render_evidence(frame_bgr, event.box, quality, line_row) if people else None)


def plate_area(box) -> tuple[float, float, float, float]:
    """Where a vehicle's plate can be: the lower part of its box, a little wider and lower."""
    x0, y0, x1, y1 = (float(v) for v in box)
    mx, my = (x1 - x0) * PLATE_MARGIN, (y1 - y0) * PLATE_MARGIN
    return x0 - mx, y0 + (y1 - y0) * PLATE_FROM, x1 + mx, y1 + my


def hide_plate(jpeg: bytes, box, crop: bool = False, quality: int = 85) -> bytes:
    """An evidence JPEG of a vehicle (`render_evidence`'s full frame, or its crop when `crop`) with the plate area of
    its box (frame pixels) pixelated like a person: the vehicle stays recognisable as such, its plate does not."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not a JPEG")
    x0, y0, x1, y1 = (float(v) for v in box)
    if crop:  # the crop began CROP_PAD of the box before it, or at the frame's edge (as render_evidence cut it)
        left, top = max(0, round(x0)), max(0, round(y0))
        dx = max(0, left - int((round(x1) - left) * CROP_PAD))
        dy = max(0, top - int((round(y1) - top) * CROP_PAD))
        x0, y0, x1, y1 = x0 - dx, y0 - dy, x1 - dx, y1 - dy
    return _jpeg(blur_boxes(image, [plate_area((x0, y0, x1, y1))]), quality)
