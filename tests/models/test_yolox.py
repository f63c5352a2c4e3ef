"""The batched end-to-end detector against a plain single-frame implementation of the model contract."""

from __future__ import annotations

import numpy as np
import pytest

from matakota.core.detections import PERSON
from matakota.models.frames import FrameBatch, letterbox
from matakota.models.yolox import YoloxDetector
from tests.conftest import EMPTY_FRAMES, PERSON_FRAMES
from tests.models.reference import ReferenceYolox


@pytest.fixture(scope="module")
def detector(model_path, tmp_path_factory):
    return YoloxDetector(model_path, cache_dir=tmp_path_factory.mktemp("prepared"))


@pytest.fixture(scope="module")
def reference(model_path):
    return ReferenceYolox(model_path)


def assert_same(found, expected):
    assert len(found) == len(expected), (found.to_json(), expected)
    for box, score, class_id, (ref_class, ref_score, ref_box) in zip(found.xyxy, found.confidence, found.class_id, expected):
        assert class_id == ref_class
        assert score == pytest.approx(ref_score, abs=1e-3)
        np.testing.assert_allclose(box, ref_box, atol=1.0)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 8, 15])
def test_batched_matches_single_frame_reference(detector, reference, clip_frames, batch_size):
    images = list(clip_frames.values())[:batch_size]
    results = detector.detect(images)
    assert len(results) == batch_size
    for image, found in zip(images, results):
        assert_same(found, reference.detect(image))


def test_frames_with_a_person_standing_give_exactly_one_confident_person(detector, clip_frames):
    for index, found in zip(PERSON_FRAMES, detector.detect([clip_frames[i] for i in PERSON_FRAMES])):
        people = found[(found.class_id == PERSON) & (found.confidence > 0.5)]
        assert len(people) == 1, f"frame {index}: {found.to_json()}"


def test_empty_room_frames_give_no_detections(detector, clip_frames):
    for index, found in zip(EMPTY_FRAMES, detector.detect([clip_frames[i] for i in EMPTY_FRAMES])):
        assert len(found[found.confidence > 0.5]) == 0, f"frame {index}: {found.to_json()}"


def test_boxes_are_in_source_pixels(detector, clip_frames):
    image = clip_frames[PERSON_FRAMES[0]]
    [found] = detector.detect([image])
    height, width = image.shape[:2]
    x0, y0, x1, y1 = found.xyxy[0]
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    # the same scene at half resolution: the same person, at half the coordinates
    [half] = detector.detect([image[::2, ::2].copy()])
    np.testing.assert_allclose(half.xyxy[0] * 2, found.xyxy[0], atol=8)


def test_thresholds_and_class_filter_are_applied(model_path, tmp_path, clip_frames):
    image = clip_frames[PERSON_FRAMES[0]]
    no_people = YoloxDetector(model_path, classes=(2, 3), cache_dir=tmp_path)
    assert not (no_people.detect([image])[0].class_id == PERSON).any()
    strict = YoloxDetector(model_path, score_threshold=0.95, cache_dir=tmp_path)
    assert len(strict.detect([image])[0]) == 0
    loose = YoloxDetector(model_path, score_threshold=0.05, cache_dir=tmp_path)
    assert len(loose.detect([image])[0]) >= 1


def test_letterbox_pastes_top_left_on_grey():
    image = np.full((100, 200, 3), 7, np.uint8)
    canvas, ratio = letterbox(image)
    assert ratio == pytest.approx(416 / 200)
    assert canvas.shape == (416, 416, 3)
    assert (canvas[:208] == 7).all() and (canvas[208:] == 114).all()


@pytest.mark.parametrize("image", [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 3), np.float32)])
def test_letterbox_rejects_non_bgr_images(image):
    with pytest.raises(ValueError, match="BGR uint8"):
        letterbox(image)


def test_empty_batch_gives_no_results(detector):
    assert detector.detect_batch(FrameBatch.from_images([])) == []
