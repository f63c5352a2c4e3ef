"""/v1/cameras: the fleet's cameras, their state and newest detections; adding, changing and removing them."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import APIRouter, Body, HTTPException, Response

from matakota.config import CameraConfig
from matakota.core.messages import CameraDetail, CameraStatus, LatestDetections
from matakota.core.redact import Redactor
from matakota.core.urls import source_kind
from matakota.serve.auth import ADMIN, READ
from matakota.serve.fleet_client import NoFleet, call_supervisor
from matakota.serve.schemas import problems

router = APIRouter(prefix="/v1/cameras")


@asynccontextmanager
async def scrubbed(url: str | None):
    """Errors answered while handling a request that carries a camera URL never quote its password
    (whatever the layer below put in the message)."""
    try:
        yield
    except HTTPException as error:
        if url and isinstance(error.detail, str):
            error.detail = Redactor(url)(error.detail)
        raise


@router.get("", response_model=list[CameraStatus], dependencies=READ, responses=problems(401, 403, 503),
            summary="Every camera with its state and rates")
async def cameras() -> list[CameraStatus]:
    try:
        return await call_supervisor("cameras")
    except NoFleet:
        return []


@router.get("/{camera_id}", response_model=CameraDetail, dependencies=READ, responses=problems(401, 403, 404, 503),
            summary="One camera: its state, rates and whole config (password redacted)")
async def camera(camera_id: str) -> CameraDetail:
    return await call_supervisor("camera", camera_id)


@router.get("/{camera_id}/detections/latest", response_model=LatestDetections, dependencies=READ,
            responses=problems(401, 403, 404, 503),
            summary="The detections of the camera's most recently analysed frame")
async def latest_detections(camera_id: str) -> LatestDetections:
    latest = await call_supervisor("latest_detections", camera_id)
    if latest is None:
        known = camera_id in {c.id for c in await call_supervisor("cameras")}
        raise HTTPException(404, f"camera {camera_id!r} has no analysed frame yet" if known
                            else f"no camera {camera_id!r}")
    return latest


@router.post("", status_code=201, response_model=CameraDetail, dependencies=ADMIN,
             responses=problems(401, 403, 409, 413, 422, 503), summary="Add a camera; it starts on a shard with room")
async def add_camera(camera: CameraConfig) -> CameraDetail:
    async with scrubbed(camera.url):
        try:  # schemes no fleet accepts are refused here, fleet or not (local files: the fleet decides)
            source_kind(camera.url, allow_files=True)
        except ValueError as error:
            raise HTTPException(422, f"url: {error}") from None
        return await call_supervisor("add_camera", camera.model_dump(mode="json"))


@router.patch("/{camera_id}", response_model=CameraDetail, dependencies=ADMIN,
              responses=problems(401, 403, 404, 413, 422, 503),
              summary="Change a camera's config (analysis rate, zones, decode mode…), applied live",
              description="A JSON Merge Patch (RFC 7396): nested objects merge, `null` deletes a key (back to its "
                          "default), lists replace. The answer shows the camera's whole resulting config.")
async def update_camera(camera_id: str, changes: dict = Body(examples=[{"analytics": {"fps": 5}}])) -> CameraDetail:
    url = changes.get("url")
    async with scrubbed(url if isinstance(url, str) else None):
        return await call_supervisor("update_camera", camera_id, changes)


@router.delete("/{camera_id}", status_code=204, dependencies=ADMIN, responses=problems(401, 403, 404, 503),
               summary="Remove a camera")
async def remove_camera(camera_id: str) -> Response:
    await call_supervisor("remove_camera", camera_id)
    return Response(status_code=204)
