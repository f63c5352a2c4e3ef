"""ByteTrack-style multi-object tracker tuned for 1–5 analysed fps.

Association runs in three stages against constant-velocity predictions of every live track:
1. high-score detections ↔ tracks by IoU;
2. low-score detections ↔ still-unmatched confirmed tracks by IoU (recovers occluded/blurred objects);
3. leftover high-score detections ↔ leftover tracks by centre distance, gated by box height
   (at 1 fps a walking person can move a whole box width, so IoU alone loses them).
Only same-class pairs match. A track gets an id after `confirm_hits` hits; tentative tracks report -1
and die on their first miss. Confirmed tracks coast through misses for `max_lost_s` seconds.
"""

from __future__ import annotations

import numpy as np

from matakota.config.analytics import TrackerConfig
from matakota.core.detections import Detections
from matakota.core.geometry import iou_matrix

ALPHA = 0.7  # weight of the measurement in the position/size update
BETA = 0.4  # weight of the residual in the velocity update
MAX_HORIZON_S = 2.0  # never extrapolate a lost track further than this


def greedy_match(score: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Pairs (row, col) taken best-score-first, each row and column at most once, score ≥ threshold."""
    rows, cols = np.nonzero(score >= threshold)
    if len(rows) == 0:
        return []
    order = np.argsort(-score[rows, cols], kind="stable")
    used_rows, used_cols, pairs = set(), set(), []
    for r, c in zip(rows[order].tolist(), cols[order].tolist()):
        if r not in used_rows and c not in used_cols:
            used_rows.add(r)
            used_cols.add(c)
            pairs.append((r, c))
    return pairs


def _to_cxcywh(xyxy: np.ndarray) -> np.ndarray:
    xyxy = xyxy.astype(np.float64)
    return np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, (xyxy[:, 1] + xyxy[:, 3]) / 2,
                     xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]], axis=1)


def _to_xyxy(cxcywh: np.ndarray) -> np.ndarray:
    cx, cy, w, h = cxcywh.T
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


class ByteTracker:
    """`update(detections, t)` returns the kept detections with `tracker_id` set (-1 = tentative)."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._box = np.zeros((0, 4))  # cx, cy, w, h at the last hit
        self._vel = np.zeros((0, 2))  # px/s of the centre
        self._last_t = np.zeros(0)
        self._hits = np.zeros(0, np.int64)
        self._ids = np.zeros(0, np.int64)  # -1 while tentative
        self._cls = np.zeros(0, np.int32)
        self._next_id = 1

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def confirmed_ids(self) -> np.ndarray:
        return self._ids[self._ids >= 0]

    def predict(self, t: float) -> np.ndarray:
        """Every live track's predicted xyxy box at time t."""
        horizon = np.clip(t - self._last_t, 0.0, MAX_HORIZON_S)[:, None]
        box = self._box.copy()
        box[:, :2] += self._vel * horizon
        return _to_xyxy(box)

    def update(self, detections: Detections, t: float) -> Detections:
        cfg = self.config
        if len(detections) == 0 and len(self._ids) == 0:
            return detections
        predicted = self.predict(t)
        same_class = detections.class_id[:, None] == self._cls[None, :]
        high = np.flatnonzero(detections.confidence >= cfg.high_score)
        low = np.flatnonzero((detections.confidence >= cfg.low_score) & (detections.confidence < cfg.high_score))
        free_tracks = np.arange(len(self._ids))
        matches: dict[int, int] = {}  # detection row → track index

        def associate(rows: np.ndarray, tracks: np.ndarray, score: np.ndarray, threshold: float) -> np.ndarray:
            score = np.where(same_class[np.ix_(rows, tracks)], score, -1.0)
            for r, c in greedy_match(score, threshold):
                matches[int(rows[r])] = int(tracks[c])
            taken = set(matches.values())
            return np.array([k for k in tracks if k not in taken], dtype=np.int64)

        xyxy = detections.xyxy
        free_tracks = associate(high, free_tracks, iou_matrix(xyxy[high], predicted[free_tracks]), cfg.match_iou)
        confirmed_free = free_tracks[self._ids[free_tracks] >= 0]
        associate(low, confirmed_free, iou_matrix(xyxy[low], predicted[confirmed_free]), cfg.match_iou)
        free_tracks = np.array([k for k in free_tracks if k not in set(matches.values())], dtype=np.int64)
        left_high = np.array([r for r in high if r not in matches], dtype=np.int64)
        associate(left_high, free_tracks, self._jump_score(xyxy[left_high], predicted[free_tracks]), 1e-6)

        return self._apply(detections, t, matches, high)

    def _jump_score(self, boxes: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        """1 at the predicted centre, falling to 0 at `max_jump` × box height away."""
        if len(boxes) == 0 or len(predicted) == 0:
            return np.zeros((len(boxes), len(predicted)))
        det, pred = _to_cxcywh(boxes), _to_cxcywh(predicted)
        distance = np.hypot(det[:, None, 0] - pred[None, :, 0], det[:, None, 1] - pred[None, :, 1])
        height = np.maximum(pred[None, :, 3], det[:, None, 3])
        size_ratio = np.minimum(det[:, None, 3], pred[None, :, 3]) / np.maximum(height, 1e-9)
        score = 1.0 - distance / np.maximum(self.config.max_jump * height, 1e-9)
        return np.where(size_ratio > 0.5, score, -1.0)  # a box half or twice the size is another object

    def _apply(self, detections: Detections, t: float, matches: dict[int, int], high: np.ndarray) -> Detections:
        rows = np.array(sorted(matches), dtype=np.int64)
        tracks = np.array([matches[r] for r in rows.tolist()], dtype=np.int64)
        self._correct(tracks, _to_cxcywh(detections.xyxy[rows]), t)
        new_rows = np.array([r for r in high.tolist() if r not in matches], dtype=np.int64)
        self._drop_stale(t, keep=tracks)
        first_new = len(self._ids)
        self._spawn(detections, new_rows, t)
        kept = np.concatenate([rows, new_rows])
        track_of_row = np.concatenate([self._index_after_drop(tracks), np.arange(first_new, len(self._ids))])
        order = np.argsort(kept, kind="stable")
        ids = self._ids[track_of_row[order].astype(np.int64)]
        return detections[kept[order]].with_tracker_ids(ids)

    def _correct(self, tracks: np.ndarray, measured: np.ndarray, t: float) -> None:
        """Alpha-beta update of matched tracks; a track's second hit takes the observed velocity outright."""
        if len(tracks) == 0:
            return
        dt = np.maximum(t - self._last_t[tracks], 1e-3)[:, None]
        predicted_c = self._box[tracks, :2] + self._vel[tracks] * np.minimum(dt, MAX_HORIZON_S)
        residual = measured[:, :2] - predicted_c
        beta = np.where(self._hits[tracks] == 1, 1.0, BETA)[:, None]
        self._vel[tracks] += beta * residual / dt
        self._box[tracks, :2] = predicted_c + ALPHA * residual
        self._box[tracks, 2:] += ALPHA * (measured[:, 2:] - self._box[tracks, 2:])
        self._last_t[tracks] = t
        self._hits[tracks] += 1
        promote = tracks[(self._ids[tracks] < 0) & (self._hits[tracks] >= self.config.confirm_hits)]
        self._ids[promote] = np.arange(self._next_id, self._next_id + len(promote))
        self._next_id += len(promote)

    def _drop_stale(self, t: float, keep: np.ndarray) -> None:
        """Forget unmatched tentative tracks and confirmed tracks lost longer than `max_lost_s`."""
        matched = np.zeros(len(self._ids), dtype=bool)
        matched[keep] = True
        lost_too_long = (t - self._last_t) > self.config.max_lost_s
        alive = matched | ((self._ids >= 0) & ~lost_too_long)
        self._remap = np.cumsum(alive) - 1
        for name in ("_box", "_vel", "_last_t", "_hits", "_ids", "_cls"):
            setattr(self, name, getattr(self, name)[alive])

    def _index_after_drop(self, tracks: np.ndarray) -> np.ndarray:
        return self._remap[tracks] if len(tracks) else tracks

    def _spawn(self, detections: Detections, rows: np.ndarray, t: float) -> None:
        n = len(rows)
        ids = np.full(n, -1, np.int64)
        if self.config.confirm_hits <= 1:
            ids = np.arange(self._next_id, self._next_id + n, dtype=np.int64)
            self._next_id += n
        self._box = np.concatenate([self._box, _to_cxcywh(detections.xyxy[rows])])
        self._vel = np.concatenate([self._vel, np.zeros((n, 2))])
        self._last_t = np.concatenate([self._last_t, np.full(n, float(t))])
        self._hits = np.concatenate([self._hits, np.ones(n, np.int64)])
        self._ids = np.concatenate([self._ids, ids])
        self._cls = np.concatenate([self._cls, detections.class_id[rows]])
