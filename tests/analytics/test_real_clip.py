"""The example camera on real video: YOLOX-Nano detections of one-by-one-person-detection.mp4 through the
tracker and the `table` zone of examples/cameras/one-by-one.yaml must count the people who really came."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from matakota.analytics.camera import CameraAnalytics
from matakota.config.analytics import CameraAnalyticsConfig
from matakota.models.yolox import YoloxDetector
from matakota.video.media import read_frames

EXAMPLE_CAMERA = Path(__file__).parents[2] / "examples" / "cameras" / "one-by-one.yaml"

# Ground truth: who stands at the table, and when (seconds from the start of the clip). Established by eye,
# without the detector: frames every 1 s were laid out on contact sheets with the zone polygon drawn on
# them, then the frames around each arrival and departure were viewed every 0.5 s. "Enter" is the first
# frame with the person's feet inside the polygon, "leave" the last one (when leaving to the right their
# feet are on the polygon's right edge at that frame). One person at a time; nobody comes back.
TRUTH = [  # (who, enter_s, leave_s)
    ("woman, grey cardigan, fair hair", 7.0, 19.0),
    ("man, black jacket", 23.5, 44.0),
    ("woman, long fair hair, black top", 51.5, 69.0),
    ("man, black T-shirt, glasses", 75.5, 86.0),
    ("woman, grey cardigan, dark hair", 93.5, 119.0),
    ("man, grey shirt, jeans", 124.5, 135.0),
]
EDGE_S = 1.0  # how far off an eyeballed arrival/departure may be (feet half in, half out)
DWELL_TOLERANCE_S = 3.0  # a track is confirmed on its 3rd analysed frame: 1 s late at 2 fps


def people_at(t: float, margin: float = 0.0) -> int:
    return sum(enter - margin <= t <= leave + margin for _, enter, leave in TRUTH)


@pytest.fixture(scope="module")
def camera_config() -> CameraAnalyticsConfig:
    return CameraAnalyticsConfig.model_validate(yaml.safe_load(EXAMPLE_CAMERA.read_text()))


@pytest.fixture(scope="module")
def clip_detections(model_path, people_clip, camera_config):
    """(t, detections) for every frame at the camera's analysis rate: the clip is detected once."""
    detector = YoloxDetector(model_path)
    frames = list(read_frames(Path(people_clip), camera_config.fps))
    detections = [d for i in range(0, len(frames), 8) for d in detector.detect([f.image for f in frames[i:i + 8]])]
    return [(f.pts_s, d) for f, d in zip(frames, detections)]


@pytest.fixture(scope="module")
def run(clip_detections, camera_config):
    camera = CameraAnalytics("one-by-one", "test", camera_config)
    occupancy = [(t, camera.update(d, t).occupancy["table"]) for t, d in clip_detections]
    camera.flush()
    return camera.summary()["zones"]["table"], occupancy


def test_clip_is_analysed_at_the_camera_rate(clip_detections):
    times = [t for t, _ in clip_detections]
    assert len(times) == 279 and times[:3] == [0.0, 0.5, 1.0]  # 139.4 s at 2 fps


def test_visits_equal_the_people_who_came_to_the_table(run):
    zone, _ = run
    assert zone["visits"] == len(TRUTH)
    assert len(zone["stays"]) == len(TRUTH)


@pytest.mark.parametrize("person", range(len(TRUTH)), ids=[who for who, _, _ in TRUTH])
def test_each_visit_matches_the_person_in_time_and_dwell(run, person):
    zone, _ = run
    who, enter, leave = TRUTH[person]
    stay = zone["stays"][person]  # people come one at a time, so stays are in arrival order
    assert enter - EDGE_S <= stay["start"] <= enter + DWELL_TOLERANCE_S
    assert leave - DWELL_TOLERANCE_S <= stay["end"] <= leave + EDGE_S
    assert abs(stay["dwell_s"] - (leave - enter)) <= DWELL_TOLERANCE_S


def test_occupancy_never_exceeds_the_people_there(run):
    zone, occupancy = run
    assert zone["max_occupancy"] == 1
    over = [(t, n) for t, n in occupancy if n > people_at(t, margin=EDGE_S)]
    assert over == []


def test_a_person_standing_at_the_table_is_counted_throughout(run):
    _, occupancy = run
    missed = [t for t, n in occupancy if people_at(t, margin=-DWELL_TOLERANCE_S) and n == 0]
    assert missed == []
