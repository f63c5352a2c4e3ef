"""Varied staff-gauge scenes with known truth, drawn from a seed: the reader is tuned on some seeds and judged on
others it has never seen.

A scene is a river wall (concrete, brick or mossy; stained), a staff gauge on it (white or yellow board; graduations
as 2 cm ticks with a long mark every 10 cm, or as the E pattern of 1 cm bars; black, red or blue, changing colour
every 10 cm or every metre; digits in one of several fonts every 10 or 20 cm) and the river in front (brown, green
or grey; waves along the surface, ripples, a mirrored reflection of the wall and the gauge, glints). Families add
what cameras see: a strong reflection, night (dark, noisy, a street light's colour), rain (streaks), an occluder
across the staff, the gauge seen at an angle (rows no longer linear in cm: calibrated with several points), a camera
that shakes by a few pixels from frame to frame, a shadow across the wall. Every scene also gets uneven light, blur
and JPEG. `Scene.image` is the gauge region as the camera frames it; `Scene.calibration` maps its rows to cm (as an
operator measured it, the camera at rest); `Scene.visible` says whether the water line can be seen at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

TOP_CM, BOTTOM_CM = 200.0, 0.0  # the staff's range
FAMILIES = ("day", "reflection", "night", "rain", "occluded", "angled", "shaky", "shadow")
INKS = ((20, 20, 20), (30, 30, 200), (150, 60, 20))  # black, red, blue (BGR)
FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_COMPLEX)


@dataclass(frozen=True)
class Scene:
    image: np.ndarray  # BGR uint8, the configured gauge region
    calibration: list[tuple[float, float]]  # (row, cm), rows of `image`
    level_cm: float  # the truth
    visible: bool  # the water line is on the staff and not hidden
    family: str
    seed: int


@dataclass(frozen=True)
class Look:
    """Everything random about one camera's view; a scene at any water level reuses it (a camera over time)."""

    family: str
    px_per_cm: float
    curve: float  # rows ~ cm + curve·cm² (an angled view)
    width: int
    margin: int
    wall: tuple[float, float, float]
    wall_kind: str
    board: tuple[float, float, float]
    style: str  # "ticks" | "E"
    ink: tuple[tuple[float, float, float], tuple[float, float, float]]  # graduation colours, alternating
    ink_every: int  # cm between colour changes
    digits_every: int
    font: int
    water: tuple[float, float, float]
    reflection: float
    wave_px: float
    wave_len: float
    gain: float
    light: float  # brightness changes by ±light from the top of the region to its bottom
    cast: tuple[float, float, float]  # colour of the light
    noise: float
    blur: int
    jpeg: int
    rain: int
    occluder: tuple[int, int, int, int] | None  # x0, y0, x1, y1 in the crop
    shadow: tuple[float, float, float, float] | None  # top row, height in rows, slope (rows per column), darkness
    shake: int  # the camera moves by up to this many pixels from one frame to the next


def look(seed: int, family: str) -> Look:
    rng = np.random.default_rng(seed)
    px = float(rng.uniform(1.8, 2.8))
    width = int(rng.integers(36, 70))
    margin = int(rng.integers(14, 30))
    night = family == "night"
    first = INKS[int(rng.integers(len(INKS)))]
    second = INKS[1] if first != INKS[1] else INKS[0]
    rows = int(round((TOP_CM - BOTTOM_CM) * px))
    occluder = shadow = None
    if family == "occluded":
        x = int(rng.integers(margin, margin + width // 2))
        y0 = int(rng.integers(0, rows // 2))
        occluder = (x, y0, x + int(rng.integers(6, max(8, width // 3))), y0 + int(rng.integers(rows // 6, rows // 3)))
    if family == "shadow":
        shadow = (float(rng.uniform(0, rows * 0.6)), float(rng.uniform(10, 40) * px), float(rng.uniform(-0.4, 0.4)),
                  float(rng.uniform(0.55, 0.8)))
    return Look(
        family=family, px_per_cm=px, curve=float(rng.uniform(0.001, 0.003)) if family == "angled" else 0.0,
        width=width, margin=margin,
        wall=tuple(float(v) for v in rng.uniform([90, 95, 100], [150, 150, 160])),
        wall_kind=str(rng.choice(["concrete", "brick", "moss"])),
        board=(235.0, 240.0, 240.0) if rng.random() < 0.7 else (40.0, 215.0, 235.0),
        style=str(rng.choice(["ticks", "E"])),
        ink=(first, second), ink_every=int(rng.choice([10, 100])),
        digits_every=int(rng.choice([10, 20])), font=int(rng.choice(FONTS)),
        water=tuple(float(v) for v in rng.uniform([40, 70, 60], [90, 120, 110])),
        reflection=float(rng.uniform(0.45, 0.65)) if family == "reflection" else float(rng.uniform(0.0, 0.4)),
        wave_px=float(rng.uniform(0.0, 3.0)), wave_len=float(rng.uniform(8, 30)),
        gain=float(rng.uniform(0.18, 0.35)) if night else float(rng.uniform(0.7, 1.15)),
        light=float(rng.uniform(-0.3, 0.3)),
        cast=tuple(float(v) for v in (rng.uniform([0.6, 0.85, 1.1], [0.8, 1.0, 1.3]) if night and rng.random() < 0.5
                                      else rng.uniform(0.95, 1.05, 3))),
        noise=float(rng.uniform(10, 22)) if night else float(rng.uniform(2, 9)),
        blur=int(rng.choice([1, 3, 5])), jpeg=int(rng.integers(45, 90)),
        rain=int(rng.integers(150, 400)) if family == "rain" else 0,
        occluder=occluder, shadow=shadow,
        shake=int(rng.integers(2, 5)) if family == "shaky" else 0,
    )


def row_of(cm, view: Look):
    """Image row of a level on the staff: the top of the range at row 0 (quadratic below it, linear above)."""
    d = TOP_CM - np.asarray(cm, dtype=np.float64)
    return view.px_per_cm * (d + view.curve * d * np.maximum(d, 0.0))


def cm_of(row, view: Look):
    """The inverse of `row_of`."""
    r = np.asarray(row, dtype=np.float64) / view.px_per_cm
    if view.curve == 0:
        return TOP_CM - r
    d = np.where(r > 0, (np.sqrt(1 + 4 * view.curve * np.maximum(r, 0)) - 1) / (2 * view.curve), r)
    return TOP_CM - d


def render(view: Look, level_cm: float, seed: int) -> Scene:
    rng = np.random.default_rng(seed)
    rows = int(round(float(row_of(BOTTOM_CM, view)))) + 1
    width = view.width + 2 * view.margin
    pad = 12  # drawn larger, then cropped: shake moves the scene, not the region
    height, full = rows + 2 * pad, width + 2 * pad
    canvas = np.empty((2 * height, full, 3), np.float32)  # twice as tall: the wall and staff above the crop too
    origin = height + pad  # canvas row of the top of the staff's range
    canvas[:] = view.wall
    _texture(canvas, view, rng)
    _staff(canvas, view, origin, pad + view.margin, pad + view.margin + view.width)
    _water(canvas, view, origin, level_cm, rng)
    if view.occluder is not None:
        ox0, oy0, ox1, oy1 = view.occluder
        cv2.rectangle(canvas, (pad + ox0, origin + oy0), (pad + ox1, origin + oy1), (35, 45, 40), -1)
    image = canvas[height:2 * height]
    if view.shadow is not None:
        top, size, slope, dark = view.shadow
        y, x = np.mgrid[:height, :full]
        edge = pad + top + slope * (x - full / 2)
        image[(y >= edge) & (y < edge + size)] *= dark
    light = 1 + view.light * (np.arange(height, dtype=np.float32) / height - 0.5)
    image *= view.gain * light[:, None, None] * np.asarray(view.cast, np.float32)
    if view.rain:
        _rain(image, view.rain, rng)
    image += rng.normal(0.0, view.noise, image.shape)
    if view.blur > 1:
        image = cv2.GaussianBlur(image, (view.blur, view.blur), 0)
    dx, dy = (int(v) for v in rng.integers(-view.shake, view.shake + 1, 2))
    crop = np.clip(image[pad + dy:pad + dy + rows, pad + dx:pad + dx + width], 0, 255).astype(np.uint8)
    crop = cv2.imdecode(cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, view.jpeg])[1], cv2.IMREAD_COLOR)
    calibration = [(float(row_of(cm, view)), float(cm)) for cm in np.arange(TOP_CM, BOTTOM_CM - 1, -50.0)]
    line = float(row_of(level_cm, view))
    hidden = view.occluder is not None and view.occluder[1] - 4 <= line <= view.occluder[3] + 4
    visible = BOTTOM_CM + 3 <= level_cm <= TOP_CM - 3 and not hidden
    return Scene(crop, calibration, level_cm, visible, view.family, seed)


def _staff(canvas: np.ndarray, view: Look, origin: int, x0: int, x1: int) -> None:
    """The board from a little above the range to below it, its graduations and digits."""
    canvas[origin + int(row_of(TOP_CM + 20, view)):, x0:x1] = view.board
    w = x1 - x0
    digits = np.zeros(canvas.shape[:2], np.uint8)

    def bar(cm_top: float, cm_bottom: float, left: int, right: int, cm: float) -> None:
        ink = view.ink[int(cm // view.ink_every) % 2]
        y0, y1 = origin + row_of(cm_top, view), origin + row_of(cm_bottom, view)
        cv2.rectangle(canvas, (left, int(round(y0))), (right, max(int(round(y0)), int(round(y1)) - 1)), ink, -1)

    for cm in range(int(BOTTOM_CM) - 10, int(TOP_CM) + 20, 2 if view.style == "ticks" else 5):
        if view.style == "ticks":
            major = cm % 10 == 0
            right = x1 if major else x0 + int(w * (0.55 if cm % 4 == 0 else 0.35))
            half = 0.5 if major else 0.3
            bar(cm + half, cm - half, x0, right, cm)
        else:  # an E of three 1 cm bars over 5 cm, on the left and the right half in turn, joined by a spine
            left, right = (x0, x0 + w // 2) if (cm // 5) % 2 == 0 else (x1 - w // 2, x1)
            for k in (0, 2, 4):
                bar(cm + 5 - k, cm + 4 - k, left, right, cm)
            spine = (left, left + max(2, w // 8)) if left == x0 else (right - max(2, w // 8), right)
            bar(cm + 5, cm, *spine, cm)
        if cm % view.digits_every == 0 and 0 <= cm <= TOP_CM:
            label = str(cm // 10 if view.digits_every == 10 else cm)
            scale = max(0.25, view.px_per_cm * 3.5 / 22)
            x = x1 - int(w * 0.45) if view.style == "ticks" or (cm // 5) % 2 == 0 else x0 + 2
            cv2.putText(digits, label, (x, int(origin + row_of(cm, view) - 2)), view.font, scale, 255, 1, cv2.LINE_AA)
    canvas[digits > 0] = view.ink[1]


def _texture(canvas: np.ndarray, view: Look, rng) -> None:
    h, w, _ = canvas.shape
    blotches = cv2.resize(rng.normal(0, 12, (max(2, h // 24), max(2, w // 24))).astype(np.float32), (w, h))
    canvas += blotches[:, :, None]
    if view.wall_kind == "brick":
        for y in range(0, h, 14):
            canvas[y:y + 2] *= 0.8
    if view.wall_kind == "moss":
        canvas[:, :, 1] += cv2.resize(rng.uniform(0, 25, (max(2, h // 40), max(2, w // 40))).astype(np.float32),
                                      (w, h))


def _water(canvas: np.ndarray, view: Look, origin: int, level_cm: float, rng) -> None:
    """Everything below the (wavy) water line: the river, its ripples, the mirrored wall and staff (mirrored about
    the level in centimetres, as a still surface would: a view at an angle mirrors non-linearly in rows), glints.
    `origin` is the canvas row of the top of the staff's range."""
    h, w, _ = canvas.shape
    line = int(round(origin + float(row_of(level_cm, view))))
    phase = rng.uniform(0, 2 * np.pi)
    waves = (view.wave_px * np.sin(np.arange(w) * 2 * np.pi / view.wave_len + phase)).astype(int)
    above = canvas.copy()
    for x in range(w):
        start = int(np.clip(line + waves[x], 0, h))
        depth = np.arange(h - start)
        mirrored_cm = 2 * level_cm - cm_of(np.arange(start, h) - origin, view)
        mirror_rows = np.clip(np.round(origin + row_of(mirrored_cm, view)).astype(int) - waves[x], 0, h - 1)
        ripple = np.clip(x + (2.0 * np.sin(depth / 2.2 + phase)).astype(int), 0, w - 1)
        mirrored = above[mirror_rows, ripple]
        fade = view.reflection * np.exp(-depth / (h / 3))[:, None]
        river = np.asarray(view.water, np.float32) * (1 + 0.08 * np.sin(depth / 3.0 + x / 7.0))[:, None]
        canvas[start:, x] = (1 - fade) * river + fade * mirrored
    for _ in range(int(rng.integers(0, 10))):
        r, c = int(rng.integers(min(line + 3, h - 1), h)), int(rng.integers(0, max(1, w - 8)))
        canvas[r:r + 2, c:c + int(rng.integers(3, 9))] = 225


def _rain(image: np.ndarray, streaks: int, rng) -> None:
    h, w, _ = image.shape
    for _ in range(streaks):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        length = int(rng.integers(6, 18))
        cv2.line(image, (x, y), (x + length // 4, y + length), (200, 200, 200), 1)


def river_gauge(seed: int = 7) -> Look:
    """The scene of the reported failure: a concrete wall, a white staff with black 10 cm lines and red ticks and
    digits, a brown-green river with small waves and a faint reflection of the wall and the staff."""
    return replace(look(seed, "day"), px_per_cm=2.0, wall=(120.0, 124.0, 126.0), wall_kind="concrete", board=(235.0, 240.0, 240.0),
                   style="ticks", ink=(INKS[0], INKS[1]), ink_every=10, water=(60.0, 100.0, 85.0), reflection=0.3,
                   wave_px=1.5, gain=1.0, light=0.1, noise=4.0, blur=3, jpeg=85)


def render_video(path, view: Look, water_cm, *, fps: int = 2, frame_size=(640, 480), origin=(440, 20)):
    """An H.264 mp4 of the gauge standing in a wider scene, one frame per entry of `water_cm`; returns the gauge's
    (region, calibration) in frame pixels."""
    import av

    width, height = frame_size
    x0, y0 = origin
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264" if "libx264" in av.codecs_available else "h264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"g": str(2 * fps), "bf": "0", "preset": "veryfast"}
        for index, level in enumerate(water_cm):
            scene = render(view, float(level), index)
            frame = np.empty((height, width, 3), np.uint8)
            frame[:] = np.asarray(view.wall, np.uint8)
            frame[y0 + int(row_of(level, view)):] = np.asarray(view.water, np.uint8)
            h, w = scene.image.shape[:2]
            frame[y0:y0 + h, x0:x0 + w] = scene.image
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return (x0, y0, x0 + w, y0 + h), [(row + y0, cm) for row, cm in scene.calibration]
