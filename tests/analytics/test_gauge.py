"""Flood gauge: level read from rendered staff gauges within one tick; alarms raise once and clear once."""

import numpy as np
import pytest

from matakota.analytics.gauge import GaugeAlarm, GaugeReading, read_gauge, row_to_cm
from matakota.config.analytics import GaugeConfig
from matakota.core.events import EventState
from tests.analytics.synthetic_scenes import gauge_calibration, render_gauge

TICK_CM = 5.0
REGION = (0, 0, 120, 400)


@pytest.mark.parametrize("water_cm", [4.0, 12.5, 27.0, 40.0, 50.0, 63.0, 78.5, 91.0, 97.0])
@pytest.mark.parametrize(
    "conditions",
    [
        {"noise": 3.0, "reflection": 0.0, "blur": 1},  # calm, clear
        {"noise": 10.0, "reflection": 0.35, "blur": 3},  # noisy, reflective
        {"noise": 6.0, "reflection": 0.6, "blur": 5, "glints": 20},  # strong mirror image, sun glints, soft focus
    ],
)
def test_level_within_one_tick(water_cm, conditions):
    image = render_gauge(water_cm, seed=int(water_cm * 10), **conditions)
    reading = read_gauge(image, REGION, gauge_calibration(), t=0.0)
    assert reading.status == "ok" or (reading.status, water_cm) == ("below_range", 4.0)  # 4 cm: near the bottom
    assert abs(reading.level_cm - water_cm) <= TICK_CM


def test_gauge_inside_a_larger_frame_uses_image_rows():
    frame = np.full((720, 1280, 3), 90, np.uint8)
    frame[200:600, 900:1020] = render_gauge(35.0, seed=3)
    reading = read_gauge(frame, (900, 200, 1020, 600), gauge_calibration(y0=200), t=5.0)
    assert abs(reading.level_cm - 35.0) <= TICK_CM
    assert 200 + 4 * (100 - 35) - 20 <= reading.row <= 200 + 4 * (100 - 35) + 20


def test_water_below_the_gauge_reads_as_its_bottom():
    reading = read_gauge(render_gauge(-20.0, seed=1, reflection=0.0), REGION, gauge_calibration(), t=0.0)
    assert (reading.status, reading.row) == ("below_range", None)
    assert reading.level_cm == pytest.approx(0.0, abs=0.5)


def test_no_staff_in_view_is_uncertain_not_a_guess():
    """Water over the whole gauge cannot be told from a blocked or dark view: no level, and alarms stay as they are."""
    reading = read_gauge(render_gauge(130.0, seed=1, reflection=0.0), REGION, gauge_calibration(), t=0.0)
    assert (reading.status, reading.level_cm, reading.row) == ("uncertain", None, None)
    assert reading.to_json()["reason"] == "no water line found"


def test_region_outside_the_frame_is_an_error():
    with pytest.raises(ValueError, match="outside the frame"):
        read_gauge(np.zeros((100, 100, 3), np.uint8), (200, 200, 300, 400), gauge_calibration(), 0.0)


@pytest.mark.parametrize(
    ("row", "cm"),
    [(0, 200.0), (100, 150.0), (300, 100.0), (150, 137.5), (400, 75.0), (-20, 210.0)],
)
def test_piecewise_linear_calibration(row, cm):
    calibration = [(0, 200), (100, 150), (300, 100)]  # the lower part of the staff is seen more obliquely
    assert row_to_cm(row, calibration) == pytest.approx(cm)


def test_alarm_levels_raise_once_and_clear_once_over_a_flood():
    config = GaugeConfig(region=REGION, calibration=gauge_calibration(), raise_after=3, hysteresis_cm=5,
                         levels={"waspada": 40, "siaga": 60, "awas": 80})
    alarm = GaugeAlarm(config, "cam-banjir", "kaligawe")
    rising = np.linspace(20, 70, 26)
    series = np.concatenate([rising, [70, 58, 70, 70], rising[::-1], [20] * 5])  # a dip at the crest
    series = series + np.random.default_rng(0).normal(0, 1.0, len(series))  # reading noise
    events = [e for t, cm in enumerate(series) for e in alarm.update(GaugeReading(float(t), "ok", 0.0, cm, 1.0))]
    transitions = [(e.key, e.state) for e in events]
    assert transitions == [("waspada", EventState.RAISED), ("siaga", EventState.RAISED),
                           ("siaga", EventState.CLEARED), ("waspada", EventState.CLEARED)]
    assert all(e.payload["threshold_cm"] == config.levels[e.key] for e in events)


def test_rendered_flood_raises_and_clears_from_images():
    config = GaugeConfig(region=REGION, calibration=gauge_calibration(), levels={"siaga": 60}, raise_after=2)
    alarm = GaugeAlarm(config, "cam", "site")
    levels = [30, 45, 62, 66, 70, 66, 50, 40, 30]
    states = []
    for t, cm in enumerate(levels):
        reading = read_gauge(render_gauge(cm, seed=t, noise=8), REGION, config.calibration, float(t))
        states += [e.state for e in alarm.update(reading)]
    assert states == [EventState.RAISED, EventState.CLEARED]
