"""Illegal parking through the real fleet: a car with an Indonesian plate parks (rendered into real frames of the car
clip, encoded as H.264, a file camera looped at its native rate) → CameraShard → the real Detector (Serve) → the
parking watch and the plate OCR in the shard → EventSink → the store, a signed webhook (without the plate: it did
not ask for plates), and the HTTP API: the evidence package for an enforcement token verifies, and one changed byte
of a photo breaks it."""

from __future__ import annotations

import io
import json
import os
import uuid
import zipfile

import httpx
import pytest

from matakota.analytics.case_evidence import verify_package
from matakota.cluster import bootstrap
from matakota.config import parse_config
from matakota.core.settings import settings
from matakota.outputs.webhooks import verify
from tests.analytics.plate_scenes import EMPTY_FRAMES, clip_frames, plate_scene
from tests.conftest import READ
from tests.waiting import wait_for
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.timeout(300)
ENFORCEMENT_TOKEN = "dishub-" + uuid.uuid4().hex
ENFORCEMENT = {"Authorization": f"Bearer {ENFORCEMENT_TOKEN}"}
SECRET_ENV = "MATAKOTA_TEST_WEBHOOK_SECRET"  # tests/conftest.py sets it, and MATAKOTA_EVIDENCE_KEY, before Ray starts
SCENE_SEED, FPS, EMPTY_S, PARKED_S = 1001, 5, 3, 24
CAMERA, SITE = "pandanaran-3", "simpang-lima"


@pytest.fixture(scope="module")
def parked_car_video(cars_clip, tmp_path_factory):
    """The empty lot for EMPTY_S, then the car parked for PARKED_S; looped, it drives off and comes back."""
    import av

    scene = plate_scene(cars_clip, SCENE_SEED, views=PARKED_S * FPS)
    lot = clip_frames(str(cars_clip))
    frames = [lot[EMPTY_FRAMES[i % len(EMPTY_FRAMES)]] for i in range(EMPTY_S * FPS)] + list(scene.frames)
    path = tmp_path_factory.mktemp("video") / "parked.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264" if "libx264" in av.codecs_available else "h264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 768, 432, "yuv420p"
        stream.options = {"g": str(FPS), "bf": "0", "preset": "veryfast", "crf": "20"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path, scene.plate


@pytest.fixture(scope="module")
def enforcement_token(api_url):
    tokens_file = settings().tokens_file
    before = tokens_file.read_text()
    tokens_file.write_text(before + f"enforcement {ENFORCEMENT_TOKEN} name=dishub\n")
    assert wait_for(lambda: httpx.get(f"{api_url}/v1/events", headers=ENFORCEMENT, timeout=30).status_code == 200,
                    10), "the API did not take the enforcement token"
    yield
    tokens_file.write_text(before)


def test_a_parked_car_becomes_a_verifiable_case(api_url, store_config, parked_car_video, enforcement_token):
    path, plate = parked_car_video
    receiver = Receiver()
    analytics = {"fps": 2, "frame_size": [768, 432],
                 "zones": [{"name": "bahu-jalan", "kind": "no_parking", "units": "norm", "classes": [2, 3, 5, 7],
                            "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}],
                 "rules": [{"type": "parking", "zone": "bahu-jalan", "max_stationary_s": 8, "leave_grace_s": 2,
                            "plate_lead_s": 6, "plate_every_s": 1, "plate_reads": 4}]}
    config = parse_config({
        "store": store_config,
        "fleet": {"allow_files": True, "cameras": [{"id": CAMERA, "site": SITE, "url": str(path),
                                                    "location": {"lat": -6.9896, "lon": 110.4229},
                                                    "analytics": analytics}]},
        "outputs": {"webhooks": [{"url": receiver.url, "event_types": ["parking_violation"],
                                  "secret_env": SECRET_ENV, "backoff_base_s": 0.1}]},
    })
    try:
        bootstrap.start_fleet(config, reset=True)

        def started():
            answer = httpx.get(f"{api_url}/v1/events", params={"type": "parking_violation", "camera": CAMERA},
                               headers=ENFORCEMENT, timeout=30)
            if answer.status_code == 404:  # the store has not heard of the camera yet
                return None
            return next((e for e in answer.json()["items"] if e["state"] == "started"), None)

        event = wait_for(started, 120, interval=1.0)
        assert event, "no parking violation within 120 s"
        assert event["payload"]["plate"] == plate and event["payload"]["class"] in ("car", "bus", "truck")

        package = httpx.get(f"{api_url}{event['payload']['evidence']}", headers=ENFORCEMENT, timeout=30)
        assert package.status_code == 200
        key = os.environ["MATAKOTA_EVIDENCE_KEY"].encode()
        check = verify_package(package.content, key)
        assert check.ok, check.problems
        assert check.manifest["plate"] == plate and check.manifest["camera"] == CAMERA
        with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
        altered = bytearray(files["arrival.jpg"])
        altered[-100] ^= 0x01
        tampered = io.BytesIO()
        with zipfile.ZipFile(tampered, "w") as archive:
            for name, data in files.items():
                archive.writestr(name, bytes(altered) if name == "arrival.jpg" else data)
        assert "arrival.jpg: SHA-256 does not match" in " ".join(verify_package(tampered.getvalue(), key).problems)

        as_read = httpx.get(f"{api_url}/v1/events/{event['id']}", headers=READ, timeout=30).json()
        assert "plate" not in as_read["payload"] and as_read["payload"]["class"] == event["payload"]["class"]

        delivery = wait_for(lambda: next((b for _, b in list(receiver.requests) if json.loads(b)["id"] == event["id"]),
                                         None), 30)
        assert delivery, "the webhook got no started violation"
        headers = next(h for h, b in receiver.requests if b == delivery)
        assert verify(os.environ[SECRET_ENV].encode(), delivery, headers["X-Matakota-Signature"])
        body = json.loads(delivery)
        assert body["payload"]["class"] == event["payload"]["class"]  # the violation, signed, ...
        assert not {"plate", "plate_confidence", "evidence"} & set(body["payload"])  # without plates: none asked for

    finally:
        bootstrap.stop_fleet()
        receiver.close()
