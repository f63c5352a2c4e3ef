"""The water line on a staff gauge, read from one frame.

1. Rectify: the gauge region is resampled so that each row is `STEP_CM` of the staff, top (highest cm) first, through
   the operator's calibration (any number of (row, cm) points, piecewise linear): an angled view reads like a
   straight one and every window below is in centimetres.
2. Find the staff: the columns whose brightest few centimetres are bright (the board is the brightest thing on a
   river wall); the rest of the region is wall, the reference for light.
3. Per row, the board's brightness (upper quartile across the staff, so graduations and digits do not count; an
   envelope over a few cm fills the 1 cm marks) and its excess over the wall beside it (`board / wall - 1`): a
   shadow or uneven light darkens both, water or its reflection does not keep the excess.
4. The water line is the row that best splits the staff into "like the top" above and "darker than the top" below:
   each row votes for or against every candidate line, a shadowed row (darker, but still as far above its wall) only
   weakly. The share of agreeing votes is the reading's confidence; a reflection, rain or an occluder lowers it.
5. Refine within a few cm where the board's brightness steps down most.

The reader never guesses: too little agreement or no staff in view is `uncertain` (no level).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

STEP_CM = 0.25  # rectified row height
BRIGHT_SHARE = 0.4  # staff columns: brighter than lo + this · (hi − lo) of the region's column scores
MIN_CONTRAST = 0.2  # the staff's columns are at least this much brighter than the darkest ones, or it is not in view
SAME = 0.15  # a row is "like the top" within ±15 % of its brightness; "water" when 15 % darker
SHADOW_WEIGHT = 0.5  # vote of a darker row that keeps its excess over the wall
EDGE_CM = 2.0  # a line this close to the bottom of the staff means the water is below it
REFINE_CM, STEP_WINDOW_CM = 3.0, 5.0
MIN_AGREEMENT = 0.6  # below it the reading is uncertain


@dataclass(frozen=True)
class WaterLine:
    status: str  # "ok" | "below_range" | "uncertain"
    row: float | None  # row of the region (not rectified), None unless ok
    level_cm: float | None  # None when uncertain
    confidence: float  # 0–1


class Calibration:
    """(row, cm) points, rows increasing and cm decreasing, extended linearly past both ends."""

    def __init__(self, points):
        rows, cms = np.asarray(points, dtype=np.float64).T
        self.rows, self.cms = rows, cms

    def cm(self, row):
        return _extrapolated(np.asarray(row, dtype=np.float64), self.rows, self.cms)

    def row(self, cm):
        return _extrapolated(np.asarray(cm, dtype=np.float64), self.cms[::-1], self.rows[::-1])

    def shifted(self, dy: float) -> Calibration:
        return Calibration(np.column_stack([self.rows - dy, self.cms]))


def _extrapolated(x: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    y = np.interp(x, xs, ys)
    low, high = (ys[1] - ys[0]) / (xs[1] - xs[0]), (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    y = np.where(x < xs[0], ys[0] + low * (x - xs[0]), y)
    return np.where(x > xs[-1], ys[-1] + high * (x - xs[-1]), y)


def rectify(crop_gray: np.ndarray, calibration: Calibration) -> tuple[np.ndarray, float]:
    """(rows of `STEP_CM` from the top of the crop down, cm of the first row)."""
    height, width = crop_gray.shape
    top, bottom = float(calibration.cm(0.0)), float(calibration.cm(height - 1.0))
    cms = top - STEP_CM * np.arange(int((top - bottom) / STEP_CM) + 1)
    map_y = np.repeat(calibration.row(cms).astype(np.float32)[:, None], width, axis=1)
    map_x = np.repeat(np.arange(width, dtype=np.float32)[None, :], len(cms), axis=0)
    return cv2.remap(crop_gray, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), top


def _rows(cm: float) -> int:
    return max(1, int(round(cm / STEP_CM)))


def _running(values: np.ndarray, window: int, reduce) -> np.ndarray:
    """`reduce` (np.median, np.max…) over a centred window of rows, edges padded by repetition."""
    if window <= 1:
        return values
    pad = window // 2
    padded = np.pad(values, [(pad, window - 1 - pad)] + [(0, 0)] * (values.ndim - 1), mode="edge")
    return reduce(sliding_window_view(padded, window, axis=0), axis=-1)


def staff_columns(rect: np.ndarray) -> slice | None:
    """The staff's columns, or None when no staff is in view. A column's score is its brightest few centimetres: the
    staff is found however little of it is above water."""
    despeckled = cv2.medianBlur(rect, 5)  # rain streaks and glints are thin
    score = _running(despeckled.astype(np.float32), _rows(3.0), np.median).max(axis=0)
    lo, hi = float(score.min()), float(score.max())
    if hi - lo < MIN_CONTRAST * hi or hi - lo < 8:
        return None
    bright = np.flatnonzero(score >= lo + BRIGHT_SHARE * (hi - lo))
    runs = np.split(bright, np.flatnonzero(np.diff(bright) > 1) + 1)
    merged = [runs[0]]
    for run in runs[1:]:  # graduations across the staff can split it: join runs across small gaps
        if run[0] - merged[-1][-1] - 1 <= max(3, min(len(run), len(merged[-1])) // 3):
            merged[-1] = np.concatenate([merged[-1], run])
        else:
            merged.append(run)
    best = max(merged, key=len)
    start, stop = int(best[0]) + 1, int(best[-1])  # one column in from each edge: no blend with the wall
    if stop - start < 2:
        start, stop = int(best[0]), int(best[-1]) + 1
    return slice(start, stop)


def _wall(rect: np.ndarray, staff: slice) -> np.ndarray | None:
    """Per-row median of up to 12 wall columns on each side of the staff (2 columns gap), or None."""
    left = np.arange(max(0, staff.start - 14), max(0, staff.start - 2))
    right = np.arange(min(rect.shape[1], staff.stop + 2), min(rect.shape[1], staff.stop + 14))
    columns = np.concatenate([left, right])
    if len(columns) < 3:
        return None
    return np.median(rect[:, columns].astype(np.float32), axis=1)


def prefix_medians(values: np.ndarray) -> np.ndarray:
    """out[r] = median(values[:r]) for r ≥ 1 (out[0] = values[0])."""
    ordered: list[float] = []
    out = np.empty(len(values) + 1)
    for r, value in enumerate(values, start=1):
        bisect.insort(ordered, float(value))
        half = r // 2
        out[r] = ordered[half] if r % 2 else (ordered[half - 1] + ordered[half]) / 2
    out[0] = out[1]
    return out


def split_votes(board: np.ndarray, excess: np.ndarray | None, margin: int) -> tuple[int, float]:
    """The line (first water row) with the most agreeing votes, and that agreement (−1…1). Candidates run from
    `margin` rows below the top to the bottom of the staff (`len(board)`: all staff, the water below it)."""
    n = len(board)
    lines = np.arange(margin, n + 1, 2)
    ratio = board[None, :] / np.maximum(prefix_medians(board)[lines], 1.0)[:, None]
    upper = np.arange(n)[None, :] < lines[:, None]
    darker = ratio < 1 - SAME
    votes = np.where(upper, np.where(np.abs(ratio - 1) <= SAME, 1.0, -1.0), np.where(darker, 1.0, -1.0))
    if excess is not None:
        ref_excess = prefix_medians(excess)[lines][:, None]
        shadow = darker & (excess[None, :] >= (1 - SAME) * ref_excess) & (ref_excess > SAME)
        votes = np.where(shadow, np.where(upper, SHADOW_WEIGHT, -SHADOW_WEIGHT), votes)
    scores = votes.sum(axis=1) / n
    best = int(np.argmax(scores))
    return int(lines[best]), float(scores[best])


def refine(fine: np.ndarray, line: int) -> int:
    """The row within `REFINE_CM` of `line` where the mean brightness `STEP_WINDOW_CM` above most exceeds the
    mean below."""
    w, reach, n = _rows(STEP_WINDOW_CM), _rows(REFINE_CM), len(fine)
    candidates = np.arange(max(1, line - reach), min(n - 1, line + reach) + 1)
    if len(candidates) == 0:
        return line
    cums = np.concatenate([[0.0], np.cumsum(fine)])
    above = [(cums[j] - cums[max(0, j - w)]) / (j - max(0, j - w)) for j in candidates]
    below = [(cums[min(n, j + w)] - cums[j]) / (min(n, j + w) - j) for j in candidates]
    return int(candidates[int(np.argmax(np.subtract(above, below)))])


def find_water_line(crop_bgr: np.ndarray, calibration: Calibration) -> WaterLine:
    """Read the water line in a gauge region; `calibration` maps the region's rows to cm."""
    gray = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2GRAY)
    rect, top_cm = rectify(gray, calibration)
    bottom_cm = float(calibration.cm(crop_bgr.shape[0] - 1.0))
    staff = staff_columns(rect)
    if staff is None:
        return WaterLine("uncertain", None, None, 0.0)
    band = rect[:, staff].astype(np.float32)
    upper = np.percentile(band, 75, axis=1)
    board = _running(_running(upper, _rows(4.0), np.max), _rows(5.0), np.median)
    wall = _wall(rect, staff)
    excess = None
    if wall is not None:
        excess = board / np.maximum(_running(wall, _rows(5.0), np.median), 1.0) - 1
    line, agreement = split_votes(board, excess, _rows(EDGE_CM))
    confidence = round(float(np.clip(agreement, 0.0, 1.0)), 3)
    if agreement < MIN_AGREEMENT:
        return WaterLine("uncertain", None, None, confidence)
    fine = _running(upper, _rows(1.0), np.median)
    if line >= len(board) - _rows(EDGE_CM):  # all staff, unless a step in the last few cm says otherwise
        line = refine(fine, len(fine) - 1)
        if line >= len(fine) - _rows(1.0) or fine[line:].mean() >= (1 - SAME) * fine[:line][-_rows(5.0):].mean():
            return WaterLine("below_range", None, round(bottom_cm, 1), confidence)
    else:
        line = refine(fine, line)
    level = top_cm - STEP_CM * line
    return WaterLine("ok", float(calibration.row(level)), round(level, 1), confidence)
