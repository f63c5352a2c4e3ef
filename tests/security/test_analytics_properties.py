"""Hostile analytics input: polygons and lines fail only with ValueError; CameraAnalytics.update never raises."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from matakota.analytics.camera import CameraAnalytics
from matakota.config.analytics import CameraAnalyticsConfig, LineConfig, ZoneConfig
from matakota.core.detections import Detections
from matakota.core.geometry import (
    iou_matrix,
    is_simple_polygon,
    points_in_polygon,
    polygon_area,
    signed_distance_to_line,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
coords = st.one_of(st.floats(-1e6, 1e6), st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5))
points = st.tuples(coords, coords)
junk = st.one_of(st.none(), st.text(max_size=5), st.lists(coords, max_size=3), coords)


@FAST
@given(st.lists(st.one_of(points, junk), max_size=10), st.sampled_from(["px", "norm", "mm"]))
def test_zone_polygon_fails_only_with_value_error(polygon, units):
    try:
        zone = ZoneConfig(name="z", units=units, polygon=polygon)
    except ValueError:  # pydantic's ValidationError is a ValueError
        return
    vertices = zone.pixels((640, 360))
    assert np.isfinite(vertices).all(), f"non-finite polygon accepted: {polygon}"


@FAST
@given(st.one_of(points, junk), st.one_of(points, junk), st.sampled_from(["px", "norm"]))
def test_line_fails_only_with_value_error(start, end, units):
    try:
        line = LineConfig(name="l", units=units, start=start, end=end)
    except ValueError:
        return
    a, b = line.pixels((640, 360))
    assert np.isfinite([*a, *b]).all(), f"non-finite line accepted: {start} → {end}"


@FAST
@given(st.lists(st.tuples(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4)), min_size=3, max_size=12),
       st.lists(st.tuples(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4)), max_size=20))
def test_geometry_on_finite_input_never_crashes(polygon, probe):
    vertices = np.asarray(polygon)
    is_simple_polygon(vertices)
    polygon_area(vertices)
    inside = points_in_polygon(np.asarray(probe).reshape(-1, 2), vertices)
    assert inside.shape == (len(probe),)
    if vertices[0].tolist() != vertices[1].tolist():
        signed_distance_to_line(np.asarray(probe).reshape(-1, 2), vertices[0], vertices[1])


boxes = st.lists(st.tuples(*[st.floats(-2000, 4000, width=32)] * 4), max_size=12)
SCENE = CameraAnalyticsConfig.model_validate({
    "fps": 5, "count_interval_s": 5,
    "zones": [{"name": "plaza", "kind": "crowd", "polygon": [[0, 0], [640, 0], [640, 360], [0, 360]]},
              {"name": "curb", "kind": "no_parking", "polygon": [[0, 200], [320, 200], [320, 360], [0, 360]],
               "classes": [2, 7]},
              {"name": "gate", "kind": "restricted", "polygon": [[400, 0], [640, 0], [640, 100]]}],
    "lines": [{"name": "door", "start": [320, 0], "end": [320, 360]}],
    "rules": [{"type": "crowding", "zone": "plaza", "max_occupancy": 2, "for_s": 0.5, "clear_s": 0.5},
              {"type": "intrusion", "zone": "gate", "clear_s": 0.5},
              {"type": "parking", "zone": "curb", "max_stationary_s": 1.0, "leave_grace_s": 0.5}],
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(boxes, st.floats(0, 2)), min_size=1, max_size=25), st.data())
def test_camera_analytics_update_never_raises_on_random_detections(frames, data):
    camera = CameraAnalytics("cam-1", "site", SCENE, frame_size=(640, 360))
    t = 1_767_225_600.0
    for rows, step in frames:
        n = len(rows)
        detections = Detections(
            np.asarray(rows, np.float32).reshape(-1, 4),
            np.asarray(data.draw(st.lists(st.floats(0, 1, width=32), min_size=n, max_size=n)), np.float32),
            np.asarray(data.draw(st.lists(st.sampled_from([0, 1, 2, 3, 5, 7, 99]), min_size=n, max_size=n)), np.int32),
        )
        t += step
        camera.update(detections, t)


@FAST
@given(boxes, boxes)
def test_iou_is_bounded(a, b):
    matrix = iou_matrix(np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4))
    assert matrix.shape == (len(a), len(b))
    assert ((matrix >= 0) & (matrix <= 1 + 1e-9)).all()


def test_validation_error_is_a_value_error():  # the contract the properties above rely on
    assert issubclass(ValidationError, ValueError)
