"""Parked cars with Indonesian plates, rendered into real frames of the car clip (tests/conftest.py `cars_clip`).

The car is the real red car of frame 219 (seen from behind, from above), pasted at a seeded scale and place onto
empty frames of the same car park; its own (US) plate is covered by a rendered Indonesian one: black with white
letters (the old plates) or white with black letters (the newer ones), a seeded font, size, tilt, blur, light and
JPEG quality, and the expiry row (`05.27`) below. Each scene is one parked car seen in a few frames (a track).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

CAR_FRAME = 219
CAR_CROP = (303, 5, 460, 228)  # x0, y0, x1, y1 of the red car in that frame
PLATE_CENTRE = (90, 192)  # its plate's centre in the crop
EMPTY_FRAMES = tuple(range(30, 180, 12))  # the car park with no car in view
FONTS = ("DejaVuSans-Bold.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansCondensed-Bold.ttf", "DejaVuSerif-Bold.ttf",
         "DejaVuSans.ttf")
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
REGIONS = ("H",) * 6 + ("AB", "AD", "B", "K", "G", "D", "L", "R")  # mostly Semarang
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


@dataclass(frozen=True)
class PlateScene:
    seed: int
    plate: str  # the truth, normalised: "H 1234 AB"
    frames: tuple[np.ndarray, ...]  # the same parked car in different frames
    box: tuple[float, float, float, float]  # where the car was pasted
    dark: bool  # black plate, white letters


def random_plate(rng: np.random.Generator) -> str:
    region = REGIONS[rng.integers(len(REGIONS))]
    digits = str(rng.integers(1, 10)) + "".join(str(rng.integers(10)) for _ in range(rng.integers(0, 4)))
    suffix = "".join(LETTERS[rng.integers(len(LETTERS))] for _ in range(rng.choice([1, 2, 2, 3, 3])))
    return f"{region} {digits} {suffix}"


def render_plate(text: str, width: int, dark: bool, font: str, rng: np.random.Generator) -> np.ndarray:
    """The plate drawn 4× larger then shrunk to `width` (antialiased), with the expiry row below."""
    big_w, big_h = width * 4, int(width * 4 / 2.9)
    background, ink = ((25, 25, 25), (235, 235, 235)) if dark else ((238, 238, 238), (15, 15, 15))
    image = Image.new("RGB", (big_w, big_h), background)
    draw = ImageDraw.Draw(image)
    size = int(big_h * 0.58)
    face = ImageFont.truetype(str(FONT_DIR / font), size)
    while draw.textlength(text, font=face) > big_w * 0.9 and size > 8:
        size -= 4
        face = ImageFont.truetype(str(FONT_DIR / font), size)
    draw.text(((big_w - draw.textlength(text, font=face)) / 2, big_h * 0.05), text, font=face, fill=ink)
    expiry = f"{rng.integers(1, 13):02d}.{rng.integers(25, 31)}"
    small = ImageFont.truetype(str(FONT_DIR / font), int(big_h * 0.2))
    draw.text(((big_w - draw.textlength(expiry, font=small)) / 2, big_h * 0.72), expiry, font=small, fill=ink)
    draw.rectangle([3, 3, big_w - 4, big_h - 4], outline=ink, width=max(2, big_w // 80))
    return cv2.resize(np.asarray(image)[:, :, ::-1], (width, int(width / 2.9)), interpolation=cv2.INTER_AREA)


def _paste_plate(car: np.ndarray, plate: np.ndarray, centre: tuple[float, float], angle: float,
                 yaw: float = 0.0) -> None:
    """Paste `plate` onto `car` turned `yaw` degrees about its vertical axis (the near side taller, the plate
    narrower) and rotated by `angle` degrees around `centre` (in place)."""
    h, w = plate.shape[:2]
    turn = np.radians(yaw)
    narrow, near = w * (1 - np.cos(turn)) / 2, h * 0.5 * np.sin(abs(turn)) * 0.35  # a mild perspective
    left, right = (near, 0.0) if yaw > 0 else (0.0, near)  # the far side's edge is shorter
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    seen = np.float32([[narrow, left], [w - narrow, right], [w - narrow, h - right], [narrow, h - left]])
    rotation = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), [0, 0, 1]])
    rotation[:2, 2] += (centre[0] - w / 2, centre[1] - h / 2)
    matrix = rotation @ cv2.getPerspectiveTransform(corners, seen)
    size = (car.shape[1], car.shape[0])
    warped = cv2.warpPerspective(plate, matrix, size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, size, flags=cv2.INTER_LINEAR)
    alpha = (mask.astype(np.float32) / 255)[..., None]
    car[:] = (car * (1 - alpha) + warped * alpha).astype(np.uint8)


@lru_cache(maxsize=4)
def clip_frames(clip: str) -> dict[int, np.ndarray]:
    from tests.conftest import read_clip_frames

    return read_clip_frames(clip, {CAR_FRAME, *EMPTY_FRAMES})


def plate_scene(clip: Path, seed: int, views: int = 3, max_yaw: float = 0.0) -> PlateScene:
    """`max_yaw`: the plate seen up to this many degrees off square (the camera to one side of the car); drawn from
    a stream of its own, so a scene without it is the same as before it existed."""
    rng = np.random.default_rng(seed)
    yaw = np.random.default_rng([seed, 1]).uniform(-max_yaw, max_yaw)
    frames = clip_frames(str(clip))
    x0, y0, x1, y1 = CAR_CROP
    car = frames[CAR_FRAME][y0:y1, x0:x1].copy()
    scale = rng.uniform(1.0, 1.8)
    plate_text, dark = random_plate(rng), bool(rng.integers(2))
    plate = render_plate(plate_text, int(round((x1 - x0) * rng.uniform(0.27, 0.33))), dark,
                         FONTS[rng.integers(len(FONTS))], rng)
    _paste_plate(car, plate, PLATE_CENTRE, rng.uniform(-7, 7), yaw)
    car = cv2.resize(car, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    blur = rng.uniform(0.0, 1.1)
    if blur > 0.3:
        car = cv2.GaussianBlur(car, (0, 0), blur)
    gain, gamma = rng.uniform(0.55, 1.3), rng.uniform(0.8, 1.25)
    ch, cw = car.shape[:2]
    left, top = int(rng.integers(0, 768 - cw)), int(rng.integers(0, 432 - ch))
    views_out = []
    for view in range(views):
        frame = frames[EMPTY_FRAMES[(seed + view) % len(EMPTY_FRAMES)]].copy()
        frame[top:top + ch, left:left + cw] = car
        frame = np.clip(255 * ((frame / 255) ** gamma) * (gain + rng.normal(0, 0.03)), 0, 255).astype(np.uint8)
        ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 92))])
        views_out.append(cv2.imdecode(jpeg, cv2.IMREAD_COLOR))
    return PlateScene(seed, plate_text, tuple(views_out), (left, top, left + cw, top + ch), dark)
