"""Config validation: every mistake a user can make in a camera's analytics section is a clear ValueError."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from matakota.config.analytics import CameraAnalyticsConfig, GaugeConfig, IntrusionRule, LineConfig, ZoneConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cameras" / "one-by-one.yaml"
SQUARE = [[0, 0], [10, 0], [10, 10], [0, 10]]


def camera(**overrides) -> dict:
    return {"zones": [{"name": "plaza", "polygon": SQUARE}], **overrides}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (camera(zones=[{"name": "z", "polygon": [[0, 0], [1, 1]]}]), "at least 3"),
        (camera(zones=[{"name": "z", "polygon": [[0, 0], [10, 10], [10, 0], [0, 10]]}]), "self-intersecting"),
        (camera(zones=[{"name": "z", "polygon": [[0, 0], [5, 5], [10, 10]]}]), "zero area"),
        (camera(zones=[{"name": "z", "units": "norm", "polygon": [[0, 0], [1.5, 0], [1, 1]]}]), "[0, 1]"),
        (camera(zones=[{"name": "z", "polygon": SQUARE}, {"name": "z", "polygon": SQUARE}]), "duplicate"),
        (camera(lines=[{"name": "gate", "start": [5, 5], "end": [5, 5]}]), "zero length"),
        (camera(rules=[{"type": "crowding", "zone": "nowhere", "max_occupancy": 3}]), "rules[0].zone"),
        (camera(rules=[{"type": "intrusion", "zone": "plaza", "hours": "22:00-25:00"}]), "HH:MM-HH:MM"),
        (camera(rules=[{"type": "teleport", "zone": "plaza"}]), "does not match any of the expected tags"),
        (camera(gauge={"region": [0, 0, 10, 100], "calibration": [[0, 100], [50, 120]]}), "not monotonic"),
        (camera(gauge={"region": [0, 0, 10, 100], "calibration": [[50, 100], [10, 50]]}), "not monotonic"),
        (camera(gauge={"region": [10, 0, 5, 100], "calibration": [[0, 100], [50, 50]]}), "x1 > x0"),
        (camera(fps=0), "greater than 0"),
        (camera(timezone="Mars/Olympus"), "unknown IANA zone"),
        (camera(tracker={"high_score": 0.3, "low_score": 0.4}), "low_score"),
        (camera(colour="blue"), "Extra inputs are not permitted"),
    ],
)
def test_invalid_sections_are_rejected_with_the_offending_field(section, message):
    with pytest.raises(ValidationError) as error:  # pydantic's ValidationError is a ValueError
        CameraAnalyticsConfig.model_validate(section)
    assert isinstance(error.value, ValueError)
    assert message in str(error.value)


def test_defaults_analyse_one_frame_per_second_in_semarang_time():
    config = CameraAnalyticsConfig()
    assert (config.fps, config.timezone, config.count_interval_s) == (1.0, "Asia/Jakarta", 60.0)


def test_parking_rule_defaults_to_coco_vehicles():
    config = CameraAnalyticsConfig.model_validate(camera(rules=[{"type": "parking", "zone": "plaza"}]))
    assert config.rules[0].classes == (2, 3, 5, 7)


def test_normalised_coordinates_scale_to_the_frame():
    zone = ZoneConfig(name="z", units="norm", polygon=[(0, 0), (0.5, 0), (0.5, 1)])
    line = LineConfig(name="l", units="norm", start=(0, 0.5), end=(1, 0.5))
    assert np.allclose(zone.pixels((800, 400)), [[0, 0], [400, 0], [400, 400]])
    assert np.allclose(line.pixels((800, 400)), [[0, 200], [800, 200]])
    with pytest.raises(ValueError, match="frame size"):
        zone.pixels(None)


def test_intrusion_hours_may_wrap_midnight():
    assert IntrusionRule(zone="z", hours="22:00-05:00").window_minutes() == (22 * 60, 5 * 60)


def test_gauge_levels_and_calibration_round_trip():
    gauge = GaugeConfig(region=(10, 20, 40, 420), calibration=[(20, 200), (420, 100)],
                        levels={"waspada": 120, "siaga": 150, "awas": 180})
    assert gauge.region_pixels() == (10, 20, 40, 420)
    assert gauge.levels["siaga"] == 150


def test_shipped_example_is_valid_and_has_a_zone_around_the_table():
    config = CameraAnalyticsConfig.model_validate(yaml.safe_load(EXAMPLE.read_text()))
    table = config.zones[0].pixels(config.frame_size)
    assert config.frame_size == (768, 432)
    assert table[:, 0].min() < 440 < table[:, 0].max()  # the table's foot is at x≈440, y≈300
    assert table[:, 1].min() < 300 < table[:, 1].max()


def test_only_cameras_that_raise_alarms_keep_packets_for_clips():
    from matakota.config import CameraConfig

    counting = {"id": "c", "url": "rtsp://cam/1", "analytics": camera()}
    alarming = {**counting, "analytics": camera(rules=[{"type": "intrusion", "zone": "plaza"}])}
    assert CameraConfig.model_validate(counting).clip_packets_s == 0.0  # a counting camera: no ring of packets
    assert CameraConfig.model_validate(alarming).clip_packets_s == 14.0  # 5 s before, 5 s after, a 4 s GOP
    assert CameraConfig.model_validate({**alarming, "clip": None}).clip_packets_s == 0.0
