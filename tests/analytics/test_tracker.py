"""Tracker: identities hold at 1–5 fps, through missed frames and for people standing still."""

import numpy as np
import pytest

from matakota.analytics.tracker import ByteTracker, greedy_match
from matakota.config.analytics import TrackerConfig
from matakota.core.detections import Detections
from tests.analytics.synthetic_scenes import dets, person_at


def run(frames, fps=1.0, config=None):
    """Feed frames (lists of boxes or Detections) at `fps`; returns each frame's tracker ids."""
    tracker = ByteTracker(config)
    out = []
    for i, frame in enumerate(frames):
        detections = frame if isinstance(frame, Detections) else dets(frame)
        out.append(tracker.update(detections, i / fps).tracker_id.tolist())
    return out


@pytest.mark.parametrize("fps", [1.0, 2.0, 5.0])
@pytest.mark.parametrize("speed_px_s", [0.0, 40.0, 100.0])  # standing, strolling, walking across 768 px
def test_two_people_walking_past_each_other_keep_their_ids(fps, speed_px_s):
    steps = int(20 * fps)
    frames = [[person_at(100 + speed_px_s * i / fps, 300), person_at(650 - speed_px_s * i / fps, 330)]
              for i in range(steps)]
    ids = run(frames, fps)
    assert ids[0] == [-1, -1]  # tentative until confirmed
    assert ids[-1] == [1, 2]
    assert all(frame == [1, 2] for frame in ids[3:])


def test_identity_survives_missed_frames():
    frames = [[person_at(100 + 30 * i, 300)] if i not in (5, 6, 7) else [] for i in range(15)]
    ids = run(frames, fps=1.0)
    assert ids[4] == [1] and ids[8] == [1] and ids[-1] == [1]


def test_track_is_forgotten_after_max_lost_and_comes_back_with_a_new_id():
    frames = [[person_at(200, 300)]] * 5 + [[]] * 8 + [[person_at(200, 300)]] * 5
    ids = run(frames, fps=1.0, config=TrackerConfig(max_lost_s=5.0))
    assert ids[4] == [1] and ids[-1] == [2]


def test_person_standing_still_for_300_seconds_keeps_one_id():
    rng = np.random.default_rng(1)
    frames = []
    for i in range(300):
        jitter = rng.normal(0, 2.0, 4)  # detector box jitter
        missed = rng.random() < 0.1
        frames.append([] if missed and i > 3 else [np.asarray(person_at(400, 380)) + jitter])
    ids = run(frames, fps=1.0)
    assert {i for frame in ids[3:] for i in frame} == {1}


def test_low_score_detection_keeps_a_confirmed_track_alive_but_never_starts_one():
    boxes = [person_at(100 + 20 * i, 300) for i in range(8)]
    frames = [dets([b], conf=0.9 if i < 4 else 0.2) for i, b in enumerate(boxes)]
    frames.append(dets([person_at(600, 300)], conf=0.2))  # a lone low-score box
    ids = run(frames, fps=2.0)
    assert ids[3:8] == [[1]] * 5
    assert ids[8] == []


def test_one_frame_false_positive_never_gets_an_id():
    frames = [[person_at(100, 300)]] * 3 + [[person_at(100, 300), person_at(500, 200)]] + [[person_at(100, 300)]] * 3
    ids = run(frames)
    assert ids[3] == [1, -1]
    assert max(max(f) for f in ids) == 1


def test_classes_do_not_swap_identities():
    car = [300, 200, 400, 260]
    frames = [Detections([car, car], [0.9, 0.9], [2, 0])] * 4
    ids = run(frames)
    assert sorted(ids[-1]) == [1, 2]


@pytest.mark.parametrize(
    ("score", "threshold", "expected"),
    [
        ([[0.9, 0.8], [0.85, 0.1]], 0.3, [(0, 0)]),
        ([[0.9, 0.8], [0.95, 0.1]], 0.3, [(1, 0), (0, 1)]),
        ([[0.1]], 0.3, []),
        (np.zeros((0, 3)), 0.3, []),
    ],
)
def test_greedy_match_takes_best_pairs_once(score, threshold, expected):
    assert greedy_match(np.asarray(score, dtype=float), threshold) == expected
