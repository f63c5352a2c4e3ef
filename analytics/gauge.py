"""Flood level from a staff gauge seen by a camera, and alarm levels with hysteresis.

The water line is found as the row that best splits the gauge crop into two homogeneous parts
(a least-squares step fit over several per-row features at once):
- brightness and colour (staff: white/black, unsaturated; water: darker, tinted);
- tick energy: how much the row-mean changes from row to row (tick marks above water; ripples and a
  dimmed, broken reflection below);
- spread across the row (the E-pattern of a staff vs. the flatter water).
Features are row means over the full width, so pixel noise averages out; a coarse fit on smoothed
profiles is refined on half-smoothed ones near the coarse answer. Rows map to centimetres through the
piecewise-linear calibration. When no split is clear, the crop is judged all-staff (water below the
gauge) or all-water (water above it) by its tick energy.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from matakota.config.analytics import GaugeConfig
from matakota.core.events import Event, EventState, EventType

MIN_SEPARATION = 0.35  # fraction of feature variance the split must explain
STAFF_TICK_ENERGY = 0.04  # mean |Δ row-mean| / brightness of a crop that is all staff


@dataclass(frozen=True)
class GaugeReading:
    t: float
    status: str  # "ok" | "below_range" | "above_range"
    row: float | None  # water line, image row
    level_cm: float | None
    confidence: float  # share of feature variance explained by the split (0–1)

    def to_json(self) -> dict:
        return {"t": self.t, "status": self.status, "row": self.row, "level_cm": self.level_cm,
                "confidence": round(self.confidence, 3)}


def _smooth(profile: np.ndarray, window: int) -> np.ndarray:
    """Moving average along rows (axis 0), edges padded by reflection."""
    if window <= 1:
        return profile
    kernel = np.ones(window) / window
    pad = window // 2
    padded = np.pad(profile, ((pad, window - 1 - pad), (0, 0)), mode="reflect")
    return np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="valid"), 0, padded)


def row_features(crop_bgr: np.ndarray, window: int) -> np.ndarray:
    """Per-row features [rows, 6], each smoothed over `window` rows."""
    crop = crop_bgr.astype(np.float32)
    gray = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    saturation = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2HSV)[:, :, 1].astype(np.float32)
    mean = gray.mean(axis=1)
    tick = np.abs(np.gradient(mean))
    spread = gray.std(axis=1)
    colour = crop.mean(axis=1)  # B, G, R per row
    tint = np.stack([colour[:, 0] - colour[:, 2], colour[:, 1] - colour[:, 2]], axis=1)
    features = np.column_stack([mean, tick, spread, saturation.mean(axis=1), tint])
    return _smooth(features, window)


def _standardise(features: np.ndarray) -> np.ndarray:
    median = np.median(features, axis=0)
    scale = np.median(np.abs(features - median), axis=0) * 1.4826
    scale = np.maximum(scale, features.std(axis=0) * 0.1 + 1e-6)
    return (features - median) / scale


def step_fit(features: np.ndarray, margin: int) -> tuple[int, float]:
    """Split row k (first row of the lower part) minimising within-part squared error; and the share of
    total variance it explains. Vectorised with cumulative sums over all candidate splits."""
    n = len(features)
    cums, cums2 = np.cumsum(features, axis=0), np.cumsum(features**2, axis=0)
    total, total2 = cums[-1], cums2[-1]
    k = np.arange(margin, n - margin)
    above, above2 = cums[k - 1], cums2[k - 1]
    below, below2 = total - above, total2 - above2
    sse = (above2 - above**2 / k[:, None]) + (below2 - below**2 / (n - k)[:, None])
    cost = sse.sum(axis=1)
    total_sse = float((total2 - total**2 / n).sum())
    best = int(np.argmin(cost))
    return int(k[best]), 1.0 - float(cost[best]) / max(total_sse, 1e-9)


def find_water_row(crop_bgr: np.ndarray) -> tuple[str, float | None, float]:
    """(status, water-line row within the crop or None, confidence)."""
    rows = crop_bgr.shape[0]
    coarse_window = max(3, rows // 25)
    coarse = _standardise(row_features(crop_bgr, coarse_window))
    margin = max(2, rows // 50)
    split, explained = step_fit(coarse, margin)
    if explained < MIN_SEPARATION:
        return _out_of_range(crop_bgr), None, explained
    lo, hi = max(0, split - 2 * coarse_window), min(rows, split + 2 * coarse_window)
    fine = _standardise(row_features(crop_bgr, max(3, coarse_window // 2)))[lo:hi]
    if len(fine) > 2 * 2 + 1:
        refined, _ = step_fit(fine, 2)
        split = lo + refined
    return "ok", float(split), explained


def _out_of_range(crop_bgr: np.ndarray) -> str:
    gray = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    mean = gray.mean(axis=1)
    energy = float(np.abs(np.diff(mean)).mean()) / (float(mean.mean()) + 1.0)
    return "below_range" if energy >= STAFF_TICK_ENERGY else "above_range"


def row_to_cm(row: float, calibration) -> float:
    """Piecewise-linear map from image row to cm, extended linearly past the end pairs."""
    rows, cms = np.asarray(calibration, dtype=np.float64).T
    if row < rows[0]:
        i = 0
    elif row > rows[-1]:
        i = len(rows) - 2
    else:
        return float(np.interp(row, rows, cms))
    slope = (cms[i + 1] - cms[i]) / (rows[i + 1] - rows[i])
    return float(cms[i] + slope * (row - rows[i]))


def read_gauge(frame_bgr: np.ndarray, region: tuple[int, int, int, int], calibration, t: float) -> GaugeReading:
    """Read the level from a full frame; `region` is x0, y0, x1, y1 in frame pixels."""
    x0, y0, x1, y1 = region
    crop = frame_bgr[max(0, y0):y1, max(0, x0):x1]
    if crop.shape[0] < 10 or crop.shape[1] < 2:
        raise ValueError(f"gauge region {region} is outside the frame or too small")
    status, row, confidence = find_water_row(crop)
    rows = np.asarray(calibration, dtype=np.float64)[:, 0]
    if status == "ok":
        image_row = row + max(0, y0)
        return GaugeReading(t, status, image_row, round(row_to_cm(image_row, calibration), 1), confidence)
    edge_row = float(rows[-1] if status == "below_range" else rows[0])
    return GaugeReading(t, status, None, round(row_to_cm(edge_row, calibration), 1), confidence)


class GaugeAlarm:
    """Per level: raise after `raise_after` consecutive readings at/above it; clear after as many
    below level − hysteresis. Readings without a level leave the streaks untouched."""

    def __init__(self, config: GaugeConfig, camera: str, site: str):
        self.config, self.camera, self.site = config, camera, site
        self.levels = dict(sorted(config.levels.items(), key=lambda item: item[1]))
        self._above = {name: 0 for name in self.levels}
        self._below = {name: 0 for name in self.levels}
        self._first_above: dict[str, float] = {}
        self.raised: dict[str, float] = {}  # level name → incident start

    def update(self, reading: GaugeReading) -> list[Event]:
        if reading.level_cm is None:
            return []
        return [e for name, cm in self.levels.items() if (e := self._step(name, cm, reading)) is not None]

    def _step(self, name: str, threshold: float, reading: GaugeReading) -> Event | None:
        level, t = reading.level_cm, reading.t
        if level >= threshold:
            self._first_above.setdefault(name, t)
            self._above[name] += 1
        else:
            self._first_above.pop(name, None)
            self._above[name] = 0
        self._below[name] = self._below[name] + 1 if level < threshold - self.config.hysteresis_cm else 0
        n = self.config.raise_after
        if name not in self.raised and self._above[name] >= n:
            self.raised[name] = self._first_above[name]
            return self._event(name, threshold, EventState.RAISED, reading, end=None)
        if name in self.raised and self._below[name] >= n:
            return self._event(name, threshold, EventState.CLEARED, reading, end=t)
        return None

    def _event(self, name: str, threshold: float, state: EventState, reading: GaugeReading, end) -> Event:
        start = self.raised[name] if state is EventState.RAISED else self.raised.pop(name)
        payload = {"alarm": name, "threshold_cm": threshold, "level_cm": reading.level_cm}
        return Event(EventType.FLOOD_LEVEL, self.camera, self.site, name, state, start, end, payload)

    def close(self, t: float, reason: str) -> list[Event]:
        """Clear the raised levels because the camera stops: the level is no longer watched (`payload.closed`)."""
        raised, self.raised = self.raised, {}
        return [Event(EventType.FLOOD_LEVEL, self.camera, self.site, name, EventState.CLEARED, start, t,
                      {"alarm": name, "threshold_cm": self.levels[name], "level_cm": None, "closed": reason})
                for name, start in raised.items()]
