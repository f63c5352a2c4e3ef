"""A parked car becomes a case the transport agency can act on, end to end in one process: a car with an Indonesian
plate rendered into real frames of the car clip (tests/analytics/plate_scenes.py) → the real YOLOX-Nano detector →
the camera's analytics (tracker, parking watch with the sign's hours) → the real plate OCR → the shard's evidence
package (captions, manifest, HMAC) → the store (as the EventSink writes it) → the HTTP API (`evidence.zip` for an
enforcement token, no plate for a read token, the day's CSV) → `matakota evidence verify`, which passes, and fails
once one byte of a photo is changed."""

from __future__ import annotations

import csv
import io
import json
import secrets
import zipfile
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from matakota.actors.camera_shard import with_evidence
from matakota.actors.case_package import CaseSigner, case_record
from matakota.actors.plate_reading import PlateReading
from matakota.analytics.camera import CameraAnalytics
from matakota.cluster import cli
from matakota.config import ApiConfig, CameraConfig
from matakota.config.evidence import EvidenceConfig
from matakota.core.events import EventState
from matakota.models.plate_ocr import PlateOcr
from matakota.models.yolox import YoloxDetector
from matakota.serve.api import create_app
from matakota.serve.auth import Tokens
from matakota.store import open_store, split_cases, split_evidence
from tests.analytics.plate_scenes import EMPTY_FRAMES, clip_frames, plate_scene

pytestmark = pytest.mark.timeout(120)
KEY_ENV = "MATAKOTA_TEST_EVIDENCE_KEY"
ENFORCEMENT_TOKEN, READ_TOKEN = "dishub-" + secrets.token_hex(8), "portal-" + secrets.token_hex(8)
WIB = ZoneInfo("Asia/Jakarta")
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=WIB).timestamp()  # a Tuesday morning: the sign applies
SCENE_SEED = 1001  # a scene whose plate the OCR reads (outside the tuning and held-back seeds)
LIMIT_S, EMPTY_S, PARKED_S = 20.0, 3, 40


def camera() -> CameraConfig:
    return CameraConfig.model_validate({
        "id": "cam-pandanaran-3", "site": "simpang-lima", "url": "synthetic://768x432?fps=1",
        "location": {"lat": -6.9896, "lon": 110.4229},
        "analytics": {"fps": 1, "zones": [{"name": "bahu-jalan", "kind": "no_parking", "units": "norm",
                                           "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]], "classes": [2, 3, 5, 7]}],
                      "frame_size": [768, 432],
                      "rules": [{"type": "parking", "zone": "bahu-jalan", "max_stationary_s": LIMIT_S,
                                 "hours": "06:00-18:00", "days": ["mon", "tue", "wed", "thu", "fri"],
                                 "classes": [2, 5, 7], "plate_lead_s": 12, "plate_reads": 4}]}})


@pytest.fixture(scope="module")
def case(cars_clip, model_path, tmp_path_factory):
    """Run the parked car through the pipeline; the store holding its case, the truth and the started event."""
    scene = plate_scene(cars_clip, SCENE_SEED, views=PARKED_S)
    lot = clip_frames(str(cars_clip))
    frames = [lot[index] for index in EMPTY_FRAMES[:EMPTY_S]] + list(scene.frames)  # the lot, then the car parks
    config = camera()
    analytics = CameraAnalytics(config.id, config.site, config.analytics)
    detector, reader = YoloxDetector(model_path), PlateReading()
    signer = CaseSigner(EvidenceConfig(key_env=KEY_ENV))
    records, started = [], None
    for index, frame in enumerate(frames):
        result = analytics.update(detector.detect([frame])[0], T0 + index, frame, reader)
        for event in result.events:
            record = with_evidence(event, frame)
            if event.id in result.cases:
                record["case"] = case_record(event, result.cases[event.id], frame, config, signer)
                started = event
            records.append(record)
    store = open_store(tmp_path_factory.mktemp("store") / "matakota.db")
    events, cases = split_cases(records)  # as the EventSink does (actors/event_sink.py)
    events, snapshots = split_evidence(events)
    store.write(events, [], snapshots)
    store.write_cases(cases, [e for e in events if e["state"] == "ended"])
    yield store, scene.plate, started, reader
    store.close()


@pytest.fixture(scope="module", autouse=True)
def evidence_key():
    import os

    os.environ[KEY_ENV] = secrets.token_hex(32)
    yield os.environ[KEY_ENV]
    os.environ.pop(KEY_ENV, None)


@pytest.fixture(scope="module")
def client(case):
    tokens = Tokens.parse(f"enforcement {ENFORCEMENT_TOKEN} name=dishub\nread {READ_TOKEN} name=portal\n")
    return TestClient(create_app(ApiConfig(), store=case[0], tokens=tokens))


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_the_parked_car_is_a_violation_with_its_plate_class_and_time(case):
    _, plate, started, reader = case
    assert started is not None and started.state is EventState.STARTED
    payload = started.payload
    assert payload["plate"] == plate and payload["class"] in ("car", "bus", "truck")
    assert started.start - T0 >= EMPTY_S  # the timer began when the car arrived, not before
    assert 1 <= reader.reads <= 4  # the OCR ran a few times for this car, not every frame


def test_the_evidence_package_verifies_and_one_changed_byte_breaks_it(client, case, tmp_path, capsys):
    store, plate, started, _ = case
    response = client.get(f"/v1/events/{started.id}/evidence.zip", headers=auth(ENFORCEMENT_TOKEN))
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    package = tmp_path / "case.zip"
    package.write_bytes(response.content)
    assert cli.main(["evidence", "verify", str(package), "--key-env", KEY_ENV]) == 0
    said = capsys.readouterr().out
    assert "intact" in said and plate in said
    audited = store.audit(actor="dishub").items
    assert any(e.action == "GET /v1/events/{event_id}/evidence.zip" and e.target == started.id for e in audited)

    with zipfile.ZipFile(package) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    assert {"arrival.jpg", "limit.jpg", "vehicle.jpg", "plate.jpg", "manifest.json", "signature.json"} <= set(files)
    manifest = json.loads(files["manifest.json"])
    assert manifest["plate"] == plate and manifest["camera"] == "cam-pandanaran-3"
    assert manifest["arrival"].endswith("WIB") and manifest["stood_s_at_limit"] >= LIMIT_S
    caption = " ".join(text for text, _, _ in PlateOcr().read_lines(_caption_band(files["limit.jpg"])))
    assert "WIB" in caption and "cam-pandanaran-3" in caption.replace(" ", "")  # burned in, readable

    altered = bytearray(files["limit.jpg"])
    altered[len(altered) // 2] ^= 0x01
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, bytes(altered) if name == "limit.jpg" else data)
    assert cli.main(["evidence", "verify", str(tampered), "--key-env", KEY_ENV]) == 1
    assert "limit.jpg: SHA-256 does not match" in capsys.readouterr().err


def _caption_band(jpeg: bytes):
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return image[432:]  # the band below the 432-row frame


def test_plates_and_packages_only_for_enforcement_tokens(client, case):
    _, plate, started, _ = case
    as_read = client.get(f"/v1/events/{started.id}", headers=auth(READ_TOKEN)).json()
    assert as_read["payload"]["class"] and "plate" not in as_read["payload"]
    as_enforcement = client.get(f"/v1/events/{started.id}", headers=auth(ENFORCEMENT_TOKEN)).json()
    assert as_enforcement["payload"]["plate"] == plate
    refused = client.get(f"/v1/events/{started.id}/evidence.zip", headers=auth(READ_TOKEN))
    assert refused.status_code == 403 and "enforcement" in refused.json()["detail"]
    assert client.get("/v1/events/nope/evidence.zip", headers=auth(ENFORCEMENT_TOKEN)).status_code == 404


def test_the_day_s_listing_for_the_agency(client, case):
    _, plate, started, _ = case
    day = datetime.fromtimestamp(T0, WIB).date().isoformat()
    response = client.get("/v1/parking/cases", params={"day": day, "format": "csv"}, headers=auth(ENFORCEMENT_TOKEN))
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["plate"], r["zone"], r["offence"]) for r in rows] == [(plate, "bahu-jalan", "1")]
    assert rows[0]["evidence_url"].endswith(f"/v1/events/{started.id}/evidence.zip")
    assert rows[0]["start"].startswith(day) and rows[0]["start"].endswith("+07:00")
    bad = client.get("/v1/parking/cases", params={"day": "1 Dec"}, headers=auth(ENFORCEMENT_TOKEN))
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["detail"]


def _image(jpeg: bytes):
    import cv2
    import numpy as np

    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).astype(float)


def _read_text(jpeg: bytes) -> str:
    import cv2
    import numpy as np

    lines = PlateOcr().read_lines(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))
    return "".join(text for text, _, _ in lines).replace(" ", "")


@pytest.mark.parametrize("crop", [False, True], ids=["snapshot", "crop"])
def test_read_tokens_see_the_vehicle_with_its_plate_pixelated(client, case, crop):
    store, plate, started, _ = case
    stored = store.snapshot(store.get_event(started.id)["snapshot_crop" if crop else "snapshot"])
    url, params = f"/v1/events/{started.id}/snapshot", {"crop": crop}
    as_enforcement = client.get(url, params=params, headers=auth(ENFORCEMENT_TOKEN))
    as_read = client.get(url, params=params, headers=auth(READ_TOKEN))
    assert as_enforcement.status_code == as_read.status_code == 200
    assert as_enforcement.content == stored and plate.replace(" ", "") in _read_text(as_enforcement.content)
    assert plate.split()[1] not in _read_text(as_read.content)  # not even its number
    if not crop:  # frame pixels: the box is where the event says
        x0, y0, x1, y1 = (round(v) for v in started.box)
        middle = y0 + (y1 - y0) // 3
        shown, taken = _image(as_read.content), _image(stored)
        assert abs(shown[middle:y1, x0:x1] - taken[middle:y1, x0:x1]).mean() > 5  # the plate area: pixelated
        left = max(1, x0 - (x1 - x0) // 10 - 16)  # clear of the pixelated area (and its JPEG blocks)
        assert abs(shown[:, :left] - taken[:, :left]).mean() < 1  # the rest of the street: as it was


def test_plates_shown_to_enforcement_tokens_are_audited_once_per_response(client, case):
    store, plate, started, _ = case
    audited = lambda: store.audit(action="plates.view", limit=1000).items  # noqa: E731
    before = len(audited())
    assert client.get(f"/v1/events/{started.id}", headers=auth(READ_TOKEN)).status_code == 200
    assert client.get("/v1/events", headers=auth(READ_TOKEN)).status_code == 200
    assert len(audited()) == before  # nothing shown, nothing recorded
    assert client.get(f"/v1/events/{started.id}", headers=auth(ENFORCEMENT_TOKEN)).json()["payload"]["plate"] == plate
    listed = client.get("/v1/events", headers=auth(ENFORCEMENT_TOKEN)).json()["items"]
    with_plates = [e["id"] for e in listed if e["payload"].get("plate") == plate]
    assert started.id in with_plates
    newest = audited()[:2]
    assert [(e.actor, e.target) for e in newest] == [("dishub", f"{len(with_plates)} events" if len(with_plates) > 1
                                                      else with_plates[0]), ("dishub", started.id)]
    assert newest[0].detail["events"] == with_plates and plate not in json.dumps([e.detail for e in newest])


def test_the_live_stream_shows_plates_to_enforcement_tokens_only_and_audits_it(client, case):
    from matakota.outputs import Broadcast

    store, plate, started, _ = case
    feed = client.app.state.event_feed = Broadcast(10)
    feed.publish([store.get_event(started.id)])
    audited = lambda: store.audit(action="plates.view", limit=1000).items  # noqa: E731
    before = len(audited())
    for token in (READ_TOKEN, ENFORCEMENT_TOKEN):
        with client.stream("GET", "/v1/events/stream", params={"after": 0, "max_events": 1},
                           headers=auth(token)) as response:
            data = json.loads(next(line for line in response.iter_lines() if line.startswith("data: "))[6:])
        assert data["id"] == started.id and data["payload"].get("plate") == (plate if token == ENFORCEMENT_TOKEN
                                                                             else None)
    entries = audited()
    assert len(entries) == before + 1
    assert (entries[0].actor, entries[0].target, entries[0].detail["path"]) == ("dishub", started.id,
                                                                                 "/v1/events/stream")
