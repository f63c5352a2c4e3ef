"""Synthetic inputs for analytics tests: staff-gauge images and detection sequences."""

from __future__ import annotations

import cv2
import numpy as np

from matakota.core.detections import Detections

GAUGE_PX_PER_CM = 4.0
GAUGE_TOP_CM = 100.0  # crop row 0 shows this level; row r shows TOP - r / PX_PER_CM
WATER_BGR = (70, 95, 85)  # murky green-brown


def gauge_calibration(y0: int = 0) -> list[tuple[float, float]]:
    """Two-point calibration of a gauge whose crop starts at image row y0."""
    return [(y0, GAUGE_TOP_CM), (y0 + 400.0, GAUGE_TOP_CM - 400.0 / GAUGE_PX_PER_CM)]


def render_gauge(water_cm: float, *, seed: int = 0, noise: float = 6.0, reflection: float = 0.35,
                 blur: int = 3, glints: int = 6, size=(400, 120), tick_cm: int = 5) -> np.ndarray:
    """A white staff with black E-pattern ticks every `tick_cm`, on a concrete wall, water below
    `water_cm` (tinted, rippled, with a dimmed mirror of the staff and bright glints), noise and blur."""
    rng = np.random.default_rng(seed)
    h, w = size
    canvas = np.empty((2 * h, w, 3), np.float32)  # the staff goes on above the crop: its mirror image does too
    canvas[:] = (128, 132, 136)
    x0, x1 = w // 4, 3 * w // 4
    canvas[:, x0:x1] = 235
    for cm in np.arange(0, GAUGE_TOP_CM + h / GAUGE_PX_PER_CM + 1, tick_cm):
        row = h + int(round((GAUGE_TOP_CM - cm) * GAUGE_PX_PER_CM))
        right = x1 if cm % (2 * tick_cm) == 0 else (x0 + x1) // 2
        canvas[max(0, row - 2):row + 2, x0:right] = 20
    water_row = h + int(round((GAUGE_TOP_CM - water_cm) * GAUGE_PX_PER_CM))
    _add_water(canvas, int(np.clip(water_row, 0, 2 * h - 1)), rng, reflection, glints)
    image = canvas[h:]
    image += rng.normal(0.0, noise, image.shape)
    if blur > 1:
        image = cv2.GaussianBlur(image, (blur, blur), 0)
    return np.clip(image, 0, 255).astype(np.uint8)


def _add_water(image: np.ndarray, water_row: int, rng, reflection: float, glints: int) -> None:
    h, w, _ = image.shape
    below = h - water_row
    mirror_rows = np.clip(2 * water_row - np.arange(water_row, h) - 1, 0, h - 1)
    shifts = (3 * np.sin(np.arange(below) / 2.5)).astype(int)
    mirror = np.stack([np.roll(image[r], s, axis=0) for r, s in zip(mirror_rows, shifts)])
    water = np.broadcast_to(np.asarray(WATER_BGR, np.float32), mirror.shape)
    image[water_row:] = (1 - reflection) * water + reflection * mirror
    for _ in range(glints):
        r, c = rng.integers(max(water_row, h // 2), h), rng.integers(0, w - 10)
        image[r:r + 2, c:c + rng.integers(4, 12)] = 230


def dets(boxes, *, conf=0.9, cls=0, ids=None) -> Detections:
    """Detections from a list of xyxy boxes with one score/class for all (or per-box lists)."""
    n = len(boxes)
    conf = np.broadcast_to(np.asarray(conf, np.float32), (n,))
    cls = np.broadcast_to(np.asarray(cls, np.int32), (n,))
    return Detections(np.asarray(boxes, np.float32).reshape(-1, 4), conf, cls,
                      None if ids is None else np.asarray(ids, np.int64))


def person_at(x: float, y: float, w: float = 40, h: float = 120) -> list[float]:
    """A person box whose feet (bottom-centre) are at (x, y)."""
    return [x - w / 2, y - h, x + w / 2, y]


def render_gauge_video(path, water_cm, *, fps: int = 10, frame_size=(640, 480), origin=(440, 40),
                       keyframe_every: int = 10, seed: int = 0):
    """An H.264 mp4 of a staff gauge standing in a wider scene, one frame per entry of `water_cm` (the water
    level in that frame), `fps` frames a second, a keyframe every `keyframe_every` frames. Ripples, glints and
    noise change from frame to frame. Returns the gauge's (region, calibration) in frame pixels."""
    import av

    width, height = frame_size
    x0, y0 = origin
    gauge_h, gauge_w = 400, 120
    if x0 + gauge_w > width or y0 + gauge_h > height:
        raise ValueError("the gauge does not fit in the frame")
    rng = np.random.default_rng(seed)
    scene = np.empty((height, width, 3), np.uint8)
    scene[:] = (96, 104, 108)  # a grey embankment wall …
    scene[y0 + gauge_h - 60:] = WATER_BGR  # … and the river in front of it
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264" if "libx264" in av.codecs_available else "h264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.gop_size = keyframe_every
        stream.options = {"g": str(keyframe_every), "keyint_min": str(keyframe_every), "sc_threshold": "0",
                          "bf": "0", "preset": "veryfast"}
        for index, level in enumerate(water_cm):
            frame = scene.copy()
            frame[y0:y0 + gauge_h, x0:x0 + gauge_w] = render_gauge(float(level), seed=int(rng.integers(1 << 30)))
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return (x0, y0, x0 + gauge_w, y0 + gauge_h), gauge_calibration(y0)
