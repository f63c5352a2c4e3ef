"""CameraAnalytics end to end on synthetic detections: counts, events, summary shape, evidence."""

import pickle

import cv2
import numpy as np
import pytest

from matakota.analytics.camera import CameraAnalytics
from matakota.analytics.evidence import render_evidence
from matakota.config.analytics import CameraAnalyticsConfig
from matakota.core.detections import Detections
from matakota.core.events import EventState, EventType
from tests.analytics.synthetic_scenes import dets, gauge_calibration, person_at, render_gauge

T0 = 1_772_000_000.0  # an afternoon in Semarang (WIB)
CONFIG = {
    "fps": 1.0,
    "frame_size": [800, 450],
    "zones": [
        {"name": "plaza", "units": "norm", "polygon": [[0.0, 0.4], [0.5, 0.4], [0.5, 1.0], [0.0, 1.0]]},
        {"name": "kerb", "kind": "no_parking", "polygon": [[500, 300], [800, 300], [800, 450], [500, 450]],
         "classes": [2, 3, 5, 7]},
    ],
    "lines": [{"name": "gate", "start": [0, 150], "end": [400, 150]}],  # below the line = in
    "rules": [
        {"type": "crowding", "zone": "plaza", "max_occupancy": 2, "for_s": 3, "clear_s": 3},
        {"type": "parking", "zone": "kerb", "max_stationary_s": 30},
    ],
    "gauge": {"region": [680, 0, 800, 400], "calibration": gauge_calibration(), "levels": {"siaga": 60},
              "raise_after": 2, "every_s": 10},
}


def scene(t: int) -> Detections:
    """Three people walk down from y=100 into the plaza (y ≥ 180) at t=4, leave it at t≈40; a car parks at t=5..60."""
    boxes, classes = [], []
    for k in range(3):
        y = 100 + 20 * t if t < 15 else (400 if t < 35 else 400 - 40 * (t - 35))
        if y > 0:
            boxes.append(person_at(60 + 100 * k, min(y, 400)))
            classes.append(0)
    if 5 <= t < 60:
        boxes.append([560, 340, 700, 420])
        classes.append(2)
    return dets(boxes, cls=classes) if boxes else Detections.empty()


@pytest.fixture
def run():
    camera = CameraAnalytics("cam-simpang-5", "simpang-lima", CameraAnalyticsConfig.model_validate(CONFIG))
    frame = np.full((450, 800, 3), 100, np.uint8)
    results = []
    for t in range(90):
        frame[0:400, 680:800] = render_gauge(30 + t / 2, seed=t)  # water rises 0.5 cm/s
        results.append(camera.update(scene(t), T0 + t, frame))
    return camera, results


def test_summary_has_the_documented_shape_and_counts(run):
    camera, _ = run
    summary = camera.summary()
    assert set(summary) == {"camera", "zones", "lines", "events"}
    assert set(summary["zones"]["plaza"]) == {"visits", "max_occupancy", "dwell_s", "stays"}
    assert summary["zones"]["plaza"]["visits"] == 3
    assert summary["zones"]["plaza"]["max_occupancy"] == 3
    assert all(30 <= d <= 40 for d in summary["zones"]["plaza"]["dwell_s"]) and len(summary["zones"]["plaza"]["dwell_s"]) == 3
    assert summary["lines"]["gate"] == {"in": 3, "out": 3}


def test_rule_events_raise_and_clear(run):
    _, results = run
    events = [(e.type, e.state) for r in results for e in r.events]
    assert events.count((EventType.CROWDING, EventState.RAISED)) == 1
    assert events.count((EventType.CROWDING, EventState.CLEARED)) == 1
    assert events.count((EventType.PARKING_VIOLATION, EventState.STARTED)) == 1
    assert events.count((EventType.PARKING_VIOLATION, EventState.ENDED)) == 1
    assert events.count((EventType.FLOOD_LEVEL, EventState.RAISED)) == 1


def test_gauge_is_read_every_ten_seconds(run):
    _, results = run
    readings = [r.gauge for r in results if r.gauge is not None]
    assert len(readings) == 9
    first, *accepted = readings  # the first level a camera reports waits for a second reading to agree
    assert (first.status, first.reason) == ("uncertain", "first reading, waiting for a second to agree")
    assert all(abs(g.level_cm - (30 + (g.t - T0) / 2)) <= 5 for g in accepted)


def as_stored(records) -> dict:
    """What the store keeps: per record id, the record with the most samples (checkpoints are replaced)."""
    kept = {}
    for r in records:
        if r.id not in kept or r.samples > kept[r.id].samples:
            kept[r.id] = r
    return kept


def test_minute_count_records_close_as_time_passes(run):
    camera, results = run
    stored = as_stored([c for r in results for c in r.counts] + camera.flush())
    assert {(c.kind, c.name) for c in stored.values()} == {("zone", "plaza"), ("zone", "kerb"), ("line", "gate")}
    assert sum(c.visits for c in stored.values() if c.name == "plaza") == 3
    assert sum(c.samples for c in stored.values() if c.name == "plaza") == 90


def test_a_run_lost_mid_minute_has_stored_all_but_its_last_seconds():
    """The node under a camera dies: what its analytics counted up to the last checkpoint is in the store."""
    config = CameraAnalyticsConfig.model_validate({**CONFIG, "count_checkpoint_s": 10})
    lost = CameraAnalytics("cam-simpang-5", "simpang-lima", config, part="run-a")
    stored = as_stored(c for r in _run_scene(lost, range(53)) for c in r.counts)  # then the node dies
    analysed = {}  # interval start → frames analysed in it
    for t in range(53):
        start = (T0 + t) // 60 * 60
        analysed[start] = analysed.get(start, 0) + 1
    plaza = {r.start: r.samples for r in stored.values() if r.name == "plaza"}
    assert sorted(plaza) == sorted(analysed)
    assert all(0 <= analysed[start] - plaza[start] < 10 for start in analysed), (analysed, plaza)


def test_parking_event_carries_evidence_that_renders(run):
    _, results = run
    started = next(e for r in results for e in r.events if e.type is EventType.PARKING_VIOLATION)
    full, crop = render_evidence(np.full((450, 800, 3), 80, np.uint8), started.box)
    assert cv2.imdecode(np.frombuffer(full, np.uint8), cv2.IMREAD_COLOR).shape == (450, 800, 3)
    crop_image = cv2.imdecode(np.frombuffer(crop, np.uint8), cv2.IMREAD_COLOR)
    assert crop_image.shape[1] > 140 - 1 and crop_image.shape[0] > 80 - 1  # the car and some context
    assert crop_image[..., 2].max() > 200  # the red box is drawn


@pytest.mark.parametrize("box", [(900, 500, 1000, 600), (10, 10, 10, 50)])
def test_evidence_box_outside_the_frame_is_an_error(box):
    with pytest.raises(ValueError, match="outside"):
        render_evidence(np.zeros((450, 800, 3), np.uint8), box)


def test_norm_zones_need_a_frame_size():
    config = CameraAnalyticsConfig.model_validate({**CONFIG, "frame_size": None})
    with pytest.raises(ValueError, match="frame size"):
        CameraAnalytics("c", "s", config)


def test_summary_lists_each_stay_and_flush_closes_visits_still_open():
    plaza = {"name": "plaza", "polygon": CONFIG["zones"][1]["polygon"]}
    config = CameraAnalyticsConfig.model_validate({"zones": [plaza]})
    camera = CameraAnalytics("c", "s", config)
    for t in range(10):  # one person standing in the zone until the recording ends
        camera.update(dets([person_at(650, 400)], cls=[0]), float(t))
    assert camera.summary()["zones"]["plaza"]["dwell_s"] == []  # still inside: no visit closed yet
    camera.flush()
    zone = camera.summary()["zones"]["plaza"]
    assert zone["visits"] == 1 and zone["dwell_s"] == [7.0]  # confirmed at its third frame (t=2), last seen t=9
    assert zone["stays"] == [{"track": 1, "start": 2.0, "end": 9.0, "dwell_s": 7.0}]


def _run_scene(camera: CameraAnalytics, times) -> list:
    frame = np.full((450, 800, 3), 100, np.uint8)
    results = []
    for t in times:
        frame[0:400, 680:800] = render_gauge(30 + t / 2, seed=t)
        results.append(camera.update(scene(t), T0 + t, frame))
    return results


def test_handed_over_analytics_count_as_if_the_camera_never_moved():
    """A move hands the analytics (pickled, as Ray sends them) to the target shard: nothing lost, nothing doubled."""
    config = CameraAnalyticsConfig.model_validate(CONFIG)
    whole = CameraAnalytics("cam-simpang-5", "simpang-lima", config, part="run-a")
    uninterrupted = _run_scene(whole, range(90))
    moved = CameraAnalytics("cam-simpang-5", "simpang-lima", config, part="run-a")
    before = _run_scene(moved, range(37))  # mid-visit, crowding raised, car parked
    moved = pickle.loads(pickle.dumps(moved))
    after = _run_scene(moved, range(37, 90))
    assert [e.id for r in before + after for e in r.events] == [e.id for r in uninterrupted for e in r.events]
    assert [c.id for r in before + after for c in r.counts] == [c.id for r in uninterrupted for c in r.counts]
    assert moved.summary()["zones"] == whole.summary()["zones"]


def test_closing_a_camera_ends_its_open_incidents_and_returns_only_the_interval_in_progress():
    camera = CameraAnalytics("cam-simpang-5", "simpang-lima", CameraAnalyticsConfig.model_validate(CONFIG))
    results = _run_scene(camera, range(75))  # crowding and parking over by then; the flood alarm raised at 70
    raised = {e.incident_id for r in results for e in r.events if e.state in (EventState.RAISED, EventState.STARTED)}
    ended = {e.incident_id for r in results for e in r.events if e.state in (EventState.CLEARED, EventState.ENDED)}
    events, counts = camera.close(T0 + 75, "camera removed")
    assert {e.incident_id for e in events} == raised - ended and events  # every incident still open, once
    assert [(e.type, e.state) for e in events] == [(EventType.FLOOD_LEVEL, EventState.CLEARED)]
    assert all(e.payload["closed"] == "camera removed" and e.end is not None for e in events)
    assert {c.start for c in counts} == {(T0 + 74) // 60 * 60}  # the minute in progress only
    assert camera.close(T0 + 76, "camera removed") == ([], [])  # nothing is left open twice


def test_count_records_carry_each_stay_and_when_the_zone_was_fullest(run):
    camera, results = run
    records = [r for result in results for r in result.counts if r.kind == "zone" and r.name == "plaza"]
    closed = {r.start: r for r in records}  # the last record of each minute (checkpoints replaced by it)
    stays = [s["dwell_s"] for s in camera.summary()["zones"]["plaza"]["stays"]]
    assert len(stays) == 3 and sum(r.dwell_count for r in closed.values()) == 3
    assert sum(r.dwell_sum_s for r in closed.values()) == pytest.approx(sum(stays), abs=0.5)
    assert sum(sum(r.dwell_hist) for r in closed.values()) == 3  # each stay in its bin (10-30 s or 30-60 s)
    fullest = max(closed.values(), key=lambda r: r.occupancy_max)
    first_full = next(result.t for result in results if result.occupancy["plaza"] == fullest.occupancy_max)
    assert fullest.peak_ts == first_full  # the first frame at the most, not the last


def test_stays_still_open_when_the_camera_stops_are_in_its_last_record():
    plaza = {"name": "plaza", "polygon": CONFIG["zones"][1]["polygon"]}
    camera = CameraAnalytics("c", "s", CameraAnalyticsConfig.model_validate({"zones": [plaza]}))
    for t in range(10):
        camera.update(dets([person_at(650, 400)], cls=[0]), float(t))
    [last] = camera.flush()
    assert (last.dwell_count, last.dwell_sum_s, last.dwell_hist[0]) == (1, 7.0, 1)  # 7 s: the first bin, 0-10 s
