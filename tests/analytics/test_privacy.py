"""Privacy by default: evidence images served to ordinary tokens have every person pixelated; the unblurred original
exists only when there was someone to blur. On real frames of the people clip with the real detector's boxes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from matakota.actors.camera_shard import with_evidence
from matakota.analytics.evidence import blur_boxes
from matakota.core.detections import PERSON
from matakota.core.events import Event, EventState, EventType
from matakota.models.yolox import YoloxDetector
from matakota.store import original_name, split_evidence
from tests.conftest import PERSON_FRAMES


def detail(image: np.ndarray, box) -> float:
    """Fine detail inside a box (its inner 80 %: the event's drawn box is at its edge): the variance of the
    Laplacian of its grey levels (faces, edges of clothes)."""
    x0, y0, x1, y1 = (int(v) for v in box)
    inset_x, inset_y = (x1 - x0) // 10, (y1 - y0) // 10
    x0, y0, x1, y1 = x0 + inset_x, y0 + inset_y, x1 - inset_x, y1 - inset_y
    grey = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def decoded(jpeg: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)


@pytest.fixture(scope="module")
def people(model_path, clip_frames, tmp_path_factory):
    detector = YoloxDetector(model_path, cache_dir=tmp_path_factory.mktemp("prepared"))
    frames = [clip_frames[i] for i in PERSON_FRAMES]
    found = detector.detect(frames)
    return [(frame, d.xyxy[d.class_id == PERSON]) for frame, d in zip(frames, found)]


def test_a_served_snapshot_has_no_person_detail_and_the_original_has(people):
    for frame, boxes in people:
        assert len(boxes), "the clip's person frames show a person"
        event = Event(EventType.INTRUSION, "cam-1", "kota-lama", "room", EventState.RAISED, 1e9, box=tuple(boxes[0]))
        record = with_evidence(event, frame, boxes)
        served, original = decoded(record["snapshot_jpeg"]), decoded(record["snapshot_original_jpeg"])
        for box in boxes:
            assert detail(served, box) < 0.1 * detail(original, box), box  # pixelated: no face, no edges
            assert detail(original, box) > 50  # the original keeps the detail enforcement needs
        outside = np.ones(frame.shape[:2], bool)
        for x0, y0, x1, y1 in boxes.astype(int):
            outside[max(0, y0 - 4):y1 + 4, max(0, x0 - 4):x1 + 4] = False
        outside[:, :8] = outside[:, -8:] = outside[:8] = outside[-8:] = False  # the event box is drawn near the edge
        assert np.abs(served.astype(int) - original.astype(int))[outside].mean() < 3  # the scene itself unchanged


def test_originals_are_stored_apart_and_only_when_someone_was_blurred(people):
    frame, boxes = people[0]
    event = Event(EventType.INTRUSION, "cam-1", "kota-lama", "room", EventState.RAISED, 1e9, box=tuple(boxes[0]))
    rows, images = split_evidence([with_evidence(event, frame, boxes)])
    names = {name for name, _, _ in images}
    assert names == {rows[0]["snapshot"], rows[0]["snapshot_crop"], original_name(rows[0]["snapshot"]),
                     original_name(rows[0]["snapshot_crop"])}
    nobody = with_evidence(event, frame, np.zeros((0, 4), np.float32))
    assert "snapshot_original_jpeg" not in nobody and "snapshot_jpeg" in nobody


def test_blurring_ignores_boxes_outside_the_frame():
    frame = np.random.default_rng(0).integers(0, 255, (100, 200, 3), np.uint8)
    assert np.array_equal(blur_boxes(frame, [(300, 300, 400, 400)]), frame)
    assert not np.array_equal(blur_boxes(frame, [(10, 10, 60, 90)]), frame)


def test_the_live_view_hides_vehicles_plates_from_read_tokens_and_shows_them_to_operators(cars_clip):
    from matakota.analytics.overlay import render_frame
    from matakota.core.detections import Detections
    from matakota.models.plate_ocr import PlateOcr
    from tests.analytics.plate_scenes import plate_scene

    scene = plate_scene(cars_clip, 1001, views=3)  # a car whose plate the OCR reads (tests/test_parking_case.py)
    car = Detections(np.array([scene.box], np.float32), np.array([0.9]), np.array([2]))
    ocr, number = PlateOcr(), scene.plate.split()[1]

    def read(jpeg: bytes) -> str:
        return "".join(text for text, _, _ in ocr.read(decoded(jpeg), scene.box).lines).replace(" ", "")

    as_operator = [read(render_frame(f, car, overlay=False, blur=False)) for f in scene.frames]
    as_reader = [read(render_frame(f, car, overlay=False, blur=True)) for f in scene.frames]
    assert any(number in text for text in as_operator), as_operator
    assert not any(number in text for text in as_reader), as_reader
