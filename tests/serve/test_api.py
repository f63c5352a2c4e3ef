"""The HTTP API on a real local Serve with the real model: results, batching, and every bad-input case."""

from __future__ import annotations

import asyncio

import cv2
import httpx
import numpy as np
import pytest

from tests.conftest import ADMIN, EMPTY_FRAMES, PERSON_FRAMES, READ

pytestmark = pytest.mark.timeout(240)


def jpeg(image) -> bytes:
    return cv2.imencode(".jpg", image)[1].tobytes()


def png(image) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


def post_image(api_url, body, content_type="image/jpeg"):
    return httpx.post(f"{api_url}/v1/detect", content=body, headers={"Content-Type": content_type, **READ}, timeout=60)


def assert_still_serving(api_url, clip_frames):
    response = post_image(api_url, jpeg(clip_frames[PERSON_FRAMES[0]]))
    assert response.status_code == 200
    assert [d["label"] for d in response.json()["detections"] if d["score"] > 0.5] == ["person"]


def test_detect_jpeg_finds_the_person(api_url, clip_frames):
    response = post_image(api_url, jpeg(clip_frames[PERSON_FRAMES[0]]))
    assert response.status_code == 200
    body = response.json()
    assert (body["width"], body["height"], body["model"]) == (768, 432, "yolox-nano")
    [person] = [d for d in body["detections"] if d["score"] > 0.5]
    assert person["label"] == "person" and person["class_id"] == 0
    x0, y0, x1, y1 = person["box"]
    assert 0 <= x0 < x1 <= 768 and 0 <= y0 < y1 <= 432


def test_detect_png_and_multipart_agree_with_jpeg(api_url, clip_frames):
    image = clip_frames[PERSON_FRAMES[1]]
    as_png = post_image(api_url, png(image), "image/png").json()
    as_form = httpx.post(f"{api_url}/v1/detect", files={"image": ("frame.png", png(image), "image/png")}, headers=READ, timeout=60)
    assert as_form.status_code == 200
    assert as_form.json() == as_png
    assert [d["label"] for d in as_png["detections"] if d["score"] > 0.5] == ["person"]


def test_empty_room_has_no_detections(api_url, clip_frames):
    response = post_image(api_url, jpeg(clip_frames[EMPTY_FRAMES[0]]))
    assert [d for d in response.json()["detections"] if d["score"] > 0.5] == []


def test_healthz_reports_model_and_provider(api_url):
    response = httpx.get(f"{api_url}/healthz", timeout=30)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["model"] == "yolox_nano"
    assert body["provider"] in ("CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider")


def test_concurrent_callers_are_batched_together(api_url, clip_frames):
    before = {int(k): v for k, v in httpx.get(f"{api_url}/healthz").json()["batches"].items()}
    bodies = [jpeg(clip_frames[i]) for i in PERSON_FRAMES] * 8

    async def call_all():
        async with httpx.AsyncClient(timeout=120) as client:
            return await asyncio.gather(*(
                client.post(f"{api_url}/v1/detect", content=b, headers={"Content-Type": "image/jpeg", **READ}) for b in bodies
            ))

    responses = asyncio.run(call_all())
    assert all(r.status_code == 200 for r in responses)
    assert all(any(d["label"] == "person" for d in r.json()["detections"]) for r in responses)
    after = {int(k): v for k, v in httpx.get(f"{api_url}/healthz").json()["batches"].items()}
    new_batches = {size: after.get(size, 0) - before.get(size, 0) for size in after}
    assert sum(size * n for size, n in new_batches.items()) == len(bodies)
    assert max(size for size, n in new_batches.items() if n > 0) > 1, f"no batch formed: {new_batches}"


@pytest.mark.parametrize(
    ("make_body", "content_type", "status", "message"),
    [
        (lambda img: b"hello, not an image", "text/plain", 415, "unsupported content type"),
        (lambda img: b"", "application/octet-stream", 415, "unsupported content type"),
        (lambda img: b"hello, not an image", "image/jpeg", 400, "not a JPEG or PNG"),
        (lambda img: b"", "image/jpeg", 400, "empty body"),
        (lambda img: jpeg(img)[: len(jpeg(img)) // 2], "image/jpeg", 400, "truncated JPEG"),
        (lambda img: png(img)[: len(png(img)) // 2], "image/png", 400, "truncated PNG"),
        (lambda img: b"\xff\xd8\xff" + b"\x00" * 100 + b"\xff\xd9", "image/jpeg", 400, "not a JPEG or PNG"),
        (lambda img: b"\x00" * (2 << 20), "image/jpeg", 413, "limit"),
        (lambda img: png(np.zeros((2000, 2500, 3), np.uint8)), "image/png", 413, "pixels"),
        (lambda img: b"--xx\r\ngarbage", "multipart/form-data; boundary=xx", 400, "multipart"),
    ],
    ids=["text", "octet-stream", "garbage-as-jpeg", "empty", "truncated-jpeg", "truncated-png", "corrupt-jpeg",
         "too-large-body", "too-many-pixels", "bad-multipart"],
)
def test_bad_input_gets_a_clear_4xx_and_the_service_keeps_serving(
    api_url, clip_frames, make_body, content_type, status, message
):
    response = post_image(api_url, make_body(clip_frames[PERSON_FRAMES[0]]), content_type)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert_still_serving(api_url, clip_frames)


def test_multipart_without_image_field_is_400(api_url, clip_frames):
    response = httpx.post(f"{api_url}/v1/detect", files={"photo": ("a.jpg", jpeg(clip_frames[0]), "image/jpeg")}, headers=READ)
    assert response.status_code == 400
    assert "'image'" in response.json()["detail"]


def test_openapi_documents_detect(api_url):
    schema = httpx.get(f"{api_url}/openapi.json").json()
    operation = schema["paths"]["/v1/detect"]["post"]
    assert set(operation["requestBody"]["content"]) == {"image/jpeg", "image/png", "multipart/form-data"}
    assert {"200", "400", "413", "415", "503"} <= set(operation["responses"])


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 401, "missing bearer token"),
        ({"Authorization": "Basic abc"}, 401, "missing bearer token"),
        ({"Authorization": "Bearer not-a-real-token-at-all"}, 401, "invalid token"),
        (ADMIN, 200, None),  # admin implies read
    ],
    ids=["none", "basic", "wrong", "admin"],
)
def test_detect_needs_a_read_token(api_url, clip_frames, headers, status, message):
    response = httpx.post(f"{api_url}/v1/detect", content=jpeg(clip_frames[PERSON_FRAMES[0]]),
                          headers={"Content-Type": "image/jpeg", **headers}, timeout=60)
    assert response.status_code == status
    if message:
        assert response.json()["detail"] == message
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_health_is_open_without_a_token(api_url):
    assert httpx.get(f"{api_url}/healthz", timeout=30).status_code == 200
