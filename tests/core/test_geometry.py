"""Geometry under zones and lines, including properties checked on random shapes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matakota.core.geometry import (
    iou_matrix,
    is_simple_polygon,
    points_in_polygon,
    polygon_area,
    signed_distance_to_line,
)

coords = st.floats(min_value=-1000, max_value=1000, allow_nan=False)
rect = st.tuples(coords, coords, st.floats(1, 500), st.floats(1, 500))


@given(rect, st.lists(st.tuples(coords, coords), min_size=1, max_size=50))
@settings(max_examples=200, deadline=None)
def test_point_in_polygon_matches_the_rectangle_test(box, points):
    x, y, w, h = box
    polygon = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
    pts = np.asarray(points)
    on_edge = np.isclose(pts[:, 0], x) | np.isclose(pts[:, 0], x + w) | np.isclose(pts[:, 1], y) | np.isclose(pts[:, 1], y + h)
    expected = (pts[:, 0] > x) & (pts[:, 0] < x + w) & (pts[:, 1] > y) & (pts[:, 1] < y + h)
    assert np.array_equal(points_in_polygon(pts, polygon)[~on_edge], expected[~on_edge])


@given(rect, rect)
@settings(max_examples=200, deadline=None)
def test_iou_is_symmetric_bounded_and_one_with_itself(a, b):
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (a, b)])
    m = iou_matrix(boxes, boxes)
    assert np.allclose(np.diag(m), 1.0)
    assert np.allclose(m, m.T)
    assert ((m >= 0) & (m <= 1 + 1e-9)).all()


@given(st.lists(st.tuples(coords, coords), min_size=3, max_size=8, unique=True))
@settings(max_examples=200, deadline=None)
def test_reversing_a_polygon_keeps_simplicity_and_flips_area(points):
    polygon = np.asarray(points)
    assert is_simple_polygon(polygon) == is_simple_polygon(polygon[::-1])
    assert np.isclose(polygon_area(polygon), -polygon_area(polygon[::-1]), atol=1e-6)


@pytest.mark.parametrize(
    ("polygon", "simple"),
    [
        ([[0, 0], [10, 0], [10, 10], [0, 10]], True),
        ([[0, 0], [10, 10], [10, 0], [0, 10]], False),  # bow tie
        ([[0, 0], [10, 0], [5, 5], [10, 10], [0, 10], [5, 5]], False),  # touches itself at (5, 5)
        ([[0, 0], [10, 0], [10, 10], [5, 2], [0, 10]], True),  # concave is fine
    ],
)
def test_simple_polygons(polygon, simple):
    assert is_simple_polygon(np.asarray(polygon, float)) is simple


def test_concave_zone_excludes_its_notch():
    polygon = np.array([[0, 0], [10, 0], [10, 10], [5, 2], [0, 10]], float)
    assert points_in_polygon(np.array([[5, 8], [5, 1], [9, 8]]), polygon).tolist() == [False, True, True]


def test_distance_is_positive_on_the_right_of_the_drawn_direction():
    below = signed_distance_to_line(np.array([[5.0, 3.0]]), np.array([0.0, 0.0]), np.array([10.0, 0.0]))
    assert below[0] == pytest.approx(3.0)  # image y grows downwards: below a left→right line is its right
