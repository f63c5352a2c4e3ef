"""What a parked car's evidence costs and shows: a spot keeps a JPEG of its arrival (never a frame, whatever the
sign's hours), people are pixelated in both photos, and each photo's caption carries the time it was taken."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import cv2
import numpy as np

from matakota.actors.case_package import CaseSigner, case_record
from matakota.analytics import case_evidence
from matakota.analytics.parking import ParkingWatch
from matakota.config import CameraConfig
from matakota.config.analytics import ParkingRule
from matakota.config.evidence import EvidenceConfig
from matakota.core.events import EventState
from tests.analytics.synthetic_scenes import dets

ZONE = np.array([[0, 100], [600, 100], [600, 400], [0, 400]], float)
CAR, PERSON = [200, 250, 320, 330], [400, 150, 460, 330]
FRAME = np.random.default_rng(7).integers(0, 255, (432, 768, 3), dtype=np.uint8)  # every pixel unlike the next
WIB = ZoneInfo("Asia/Jakarta")
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=WIB).timestamp()  # a Tuesday morning


def park(watch: ParkingWatch, start: float, seconds: int, step: int = 7):
    """The car (and a person beside it) from `start`, every `step` s: (the started event, its case material)."""
    for offset in range(0, seconds, step):
        for event in watch.update(dets([CAR, PERSON], ids=[1, 2], cls=[2, 0]), start + offset, FRAME.copy()):
            if event.state is EventState.STARTED:
                return event, watch.cases[event.id]
    return None, None


def watch(**rule) -> ParkingWatch:
    return ParkingWatch(ParkingRule(zone="bahu-jalan", **rule), ZONE, "cam-1", "simpang-lima")


def test_a_parked_car_keeps_a_small_jpeg_not_a_frame_even_outside_the_sign_s_hours():
    night = watch(max_stationary_s=300, hours="06:00-18:00")
    for offset in range(0, 3600, 10):
        night.update(dets([CAR], ids=[1], cls=[2]), T0 + 10 * 3600 + offset, FRAME.copy())  # 20:00-21:00
    (spot,) = night._spots
    held = [v for v in vars(spot).values() if isinstance(v, np.ndarray) and v.nbytes >= FRAME.nbytes // 10]
    assert held == [] and isinstance(spot.photo, bytes) and len(spot.photo) < FRAME.nbytes // 2


def _people_blurred(jpeg: bytes) -> tuple[float, float]:
    """(pixel spread inside the person's box, and inside an untouched patch of the same size) in a photo."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    x0, y0, x1, y1 = PERSON
    return float(image[y0 + 10:y1 - 10, x0 + 10:x1 - 10].std()), float(image[20:180, 620:660].std())


def _camera() -> CameraConfig:
    return CameraConfig.model_validate({"id": "cam-1", "site": "simpang-lima", "url": "synthetic://768x432?fps=1"})


def test_people_are_pixelated_in_both_photos_and_each_caption_has_its_photo_s_time(monkeypatch):
    captions = []
    original = case_evidence.caption_lines
    monkeypatch.setattr(case_evidence, "caption_lines",
                        lambda facts, t, title: captions.append((title, t)) or original(facts, t, title))
    event, material = park(watch(max_stationary_s=300, grace_s=30), T0, 600)
    people = np.array([PERSON], float)
    record = case_record(event, material, FRAME, _camera(), CaseSigner(EvidenceConfig(key_env="NO_SUCH_KEY")),
                         people)
    for name in ("arrival.jpg", "limit.jpg"):
        inside, elsewhere = _people_blurred(record["files"][name])
        assert inside < elsewhere / 3, name
    # frames every 7 s: the limit (330 s) falls between two; the caption says when its photo was taken
    assert dict(captions) == {"ARRIVAL": T0, "AT LIMIT": T0 + 336}
    assert record["limit_t"] == T0 + 330  # the violation began at the limit (the listing's time)


def test_without_a_key_packages_are_unsigned_counted_and_said_once(caplog):
    event, material = park(watch(max_stationary_s=60), T0, 120)
    signer = CaseSigner(EvidenceConfig(key_env="NO_SUCH_KEY"))
    with caplog.at_level("WARNING", logger="matakota.cases"):
        signer.warn_unsigned("cam-1")
        signer.warn_unsigned("cam-2")
    assert len(caplog.records) == 1 and "NO_SUCH_KEY" in caplog.text and "unsigned" in caplog.text
    record = case_record(event, material, FRAME, _camera(), signer)
    assert b'"hmac_sha256":null' in record["files"]["signature.json"]
    assert signer.unsigned == 1  # exported as matakota_evidence_unsigned_total
