"""Plane geometry on numpy arrays: polygon checks, point-in-polygon, side of a line, box IoU."""

from __future__ import annotations

import numpy as np


def polygon_area(points: np.ndarray) -> float:
    """Signed shoelace area of a closed polygon given as [n, 2] vertices (positive = counter-clockwise in y-up)."""
    x, y = points[:, 0], points[:, 1]
    return float(0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _segments_cross(p1, p2, q1, q2) -> bool:
    """True when segments p1-p2 and q1-q2 properly intersect or touch (collinear overlap included)."""

    def orient(a, b, c) -> float:
        cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        # collinear within rounding; the scale must not depend on the points' order, or a polygon and its
        # reverse (the same edges, walked the other way) could be judged differently
        scale = max(abs(a[0]), abs(a[1]), abs(b[0]), abs(b[1]), abs(c[0]), abs(c[1]))
        return 0.0 if abs(cross) <= 1e-12 * scale * scale else cross

    def on_segment(a, b, c) -> bool:
        return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])

    d1, d2, d3, d4 = orient(q1, q2, p1), orient(q1, q2, p2), orient(p1, p2, q1), orient(p1, p2, q2)
    if ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4):
        return True
    return any(
        d == 0 and on_segment(a, b, c)
        for d, a, b, c in ((d1, q1, q2, p1), (d2, q1, q2, p2), (d3, p1, p2, q1), (d4, p1, p2, q2))
    )


def is_simple_polygon(points: np.ndarray) -> bool:
    """True when no two non-adjacent edges of the closed polygon meet (O(n²); polygons here are small)."""
    n = len(points)
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # adjacent edges share a vertex by construction
            if _segments_cross(*edges[i], *edges[j]):
                return False
    return True


class Polygon:
    """A polygon with its edges precomputed for fast, vectorised point-in-polygon tests."""

    def __init__(self, vertices) -> None:
        self.vertices = np.asarray(vertices, dtype=np.float64).reshape(-1, 2)
        self._x0, self._y0 = self.vertices[:, 0], self.vertices[:, 1]
        self._y1 = np.roll(self._y0, -1)
        dy = self._y1 - self._y0
        self._slope = np.divide(np.roll(self._x0, -1) - self._x0, dy, out=np.zeros_like(dy), where=dy != 0)

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Even-odd ray casting: bool [n] for points [n, 2]."""
        if len(points) == 0:
            return np.zeros(0, dtype=bool)
        px, py = points[:, 0:1], points[:, 1:2]
        straddles = (self._y0 > py) != (self._y1 > py)  # [n, m]; false for horizontal edges
        x_cross = self._x0 + (py - self._y0) * self._slope
        return np.count_nonzero(straddles & (px < x_cross), axis=1) % 2 == 1


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd ray casting for many points at once: bool [n] for points [n, 2] against polygon [m, 2]."""
    return Polygon(polygon).contains(np.asarray(points, dtype=np.float64))


def signed_distance_to_line(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Perpendicular distance (pixels) of points [n, 2] from the infinite line a→b.

    Positive on the right-hand side of someone walking from a to b as drawn on screen (image y points down):
    for a horizontal line drawn left→right, positive is below it."""
    direction = (b - a).astype(np.float64)
    length = float(np.hypot(*direction))
    rel = points.astype(np.float64) - a
    return (direction[0] * rel[:, 1] - direction[1] * rel[:, 0]) / length


def projection_fraction(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where each point projects onto segment a→b: 0 at a, 1 at b (outside [0, 1] = beyond the ends)."""
    direction = (b - a).astype(np.float64)
    return ((points.astype(np.float64) - a) @ direction) / float(direction @ direction)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of xyxy boxes a [n, 4] and b [m, 4] → [n, m]."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    a, b = a.astype(np.float64), b.astype(np.float64)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
