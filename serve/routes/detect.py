"""POST /v1/detect: people and vehicles in one uploaded image, through the same Detector the cameras use."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Request
from ray.serve.exceptions import BackPressureError

from matakota.core.messages import Detection
from matakota.models.frames import FrameBatch
from matakota.serve.auth import READ
from matakota.serve.body import read_body
from matakota.serve.coalescer import DetectorBusy
from matakota.serve.images import ImageError, UploadedImage, decode_image
from matakota.serve.schemas import DetectResponse, problems

PATH = "/v1/detect"  # reads its own body, against api.max_body_bytes (images), after the token check
IMAGE_TYPES = ("image/jpeg", "image/png")
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"image": {"type": "string", "format": "binary"}},
                    "required": ["image"],
                }
            },
        },
    }
}

router = APIRouter()


def decode_for_model(data: bytes, max_pixels: int) -> tuple[UploadedImage, FrameBatch]:
    """Decode and letterbox in one call, off the event loop (both are CPU work)."""
    upload = decode_image(data, max_pixels)
    return upload, FrameBatch.from_images([upload.image])


async def image_bytes(request: Request, limit: int) -> bytes:
    """The uploaded image: a raw JPEG/PNG body, or the `image` field of a multipart form."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in (*IMAGE_TYPES, "multipart/form-data"):
        raise HTTPException(
            415, f"unsupported content type {content_type or '(none)'!r}: send image/jpeg, image/png "
            "or multipart/form-data with an 'image' field"
        )
    body = await read_body(request, limit)
    if content_type != "multipart/form-data":
        return body

    async def replay():
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=8)
    except Exception as error:  # python-multipart raises several types for malformed forms
        raise HTTPException(400, f"malformed multipart body: {error}") from None
    upload = form.get("image")
    if upload is None or isinstance(upload, str):
        raise HTTPException(400, "multipart body has no file field 'image'")
    return await upload.read()


@router.post(PATH, response_model=DetectResponse, response_model_exclude_none=True, openapi_extra=UPLOAD_BODY,
             responses=problems(400, 401, 403, 413, 415, 503), summary="Detect people and vehicles in one image",
             dependencies=READ)
async def detect(request: Request) -> DetectResponse:
    state = request.app.state
    data = await image_bytes(request, state.config.max_body_bytes)
    try:
        async with state.decoding:  # one image decoded at a time: a replica's memory holds one maximal image
            upload, frame = await asyncio.to_thread(decode_for_model, data, state.config.max_image_pixels)
    except ImageError as error:
        raise HTTPException(error.status, str(error)) from None
    try:
        [detections] = await state.detector_frames.detect(frame)  # with other callers' frames, one handle call
    except (BackPressureError, DetectorBusy):
        raise HTTPException(503, "detector overloaded; retry shortly", headers={"Retry-After": "1"}) from None
    return DetectResponse(width=upload.width, height=upload.height, model=state.model_name,
                          detections=[Detection(**d) for d in detections.scaled(upload.scale).to_json()])
