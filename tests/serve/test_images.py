"""Uploaded JPEGs decoded at a reduced size (libjpeg DCT scaling): detections as with a full decode."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from matakota.models.frames import INPUT_SIZE, jpeg_reduction
from matakota.models.yolox import YoloxDetector
from matakota.serve.images import decode_image
from tests.conftest import PERSON_FRAMES

MAX_PIXELS = 40_000_000


def jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def full_hd(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (1920, 1080), interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize(("width", "height", "reduction"), [
    (1920, 1080, 4), (1080, 1920, 4), (1280, 720, 2), (3840, 2160, 8), (4000, 3000, 8), (832, 468, 2),
    (831, 468, 2), (830, 467, 1), (768, 432, 1), (416, 416, 1), (100, 50, 1),
])
def test_the_largest_reduction_that_still_fills_the_model_input(width, height, reduction):
    assert jpeg_reduction(width, height) == reduction
    assert -(-max(width, height) // reduction) >= min(INPUT_SIZE, max(width, height))


@pytest.fixture(scope="module")
def detector(model_path, tmp_path_factory):
    return YoloxDetector(model_path, cache_dir=tmp_path_factory.mktemp("prepared"))


def iou(a, b) -> float:
    inner = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return inner / (area(a) + area(b) - inner)


@pytest.mark.parametrize("frame", PERSON_FRAMES)
def test_a_1080p_jpeg_decoded_at_a_quarter_finds_what_a_full_decode_finds(detector, clip_frames, frame):
    body = jpeg(full_hd(clip_frames[frame]))
    upload = decode_image(body, MAX_PIXELS)
    assert upload.image.shape == (270, 480, 3) and (upload.width, upload.height, upload.scale) == (1920, 1080, 4.0)

    reduced = detector.detect([upload.image])[0].scaled(upload.scale).to_json()
    full = detector.detect([cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)])[0].to_json()
    people = lambda found: [d for d in found if d["label"] == "person" and d["score"] > 0.5]  # noqa: E731
    assert len(people(reduced)) == len(people(full)) == 1
    for got, expected in zip(people(reduced), people(full)):
        assert got["score"] == pytest.approx(expected["score"], abs=0.02)
        # Within 4 pixels of the model's input (18 px of 1920): a full decode's plain linear resize aliases, the
        # DCT-scaled decode low-passes; on frame 300 the reduced one is the nearer to the source frame's box.
        np.testing.assert_allclose(got["box"], expected["box"], atol=4 * 1920 / INPUT_SIZE)
        assert iou(got["box"], expected["box"]) > 0.95


def test_a_demo_size_jpeg_is_decoded_in_full(clip_frames):
    image = clip_frames[PERSON_FRAMES[0]]
    upload = decode_image(jpeg(image), MAX_PIXELS)
    assert upload.image.shape == image.shape and upload.scale == 1.0


def test_a_png_is_never_reduced():
    upload = decode_image(cv2.imencode(".png", np.zeros((1080, 1920, 3), np.uint8))[1].tobytes(), MAX_PIXELS)
    assert upload.image.shape == (1080, 1920, 3)
