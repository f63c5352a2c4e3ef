"""/v1/cameras: the fleet's cameras, their state and newest detections; adding, changing and removing them."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response

from matakota.config import CameraConfig
from matakota.core.messages import CameraDetail, CameraStatus, LatestDetections
from matakota.core.redact import Redactor
from matakota.core.urls import source_kind
from matakota.serve.auth import Caller, require
from matakota.serve.fleet_client import NoFleet, call_supervisor
from matakota.serve.reach import reach_camera
from matakota.serve.schemas import problems

router = APIRouter(prefix="/v1/cameras")
reader, admin = Depends(require("read")), Depends(require("admin"))


def unknown(camera_id: str) -> str:
    return f"no camera {camera_id!r}"


def within_reach(caller: Caller, camera: dict) -> None:
    """403 for a camera (as added or changed) that would be outside the caller's owners or sites."""
    if not caller.reaches(camera.get("site") or "default", camera.get("owner") or "city"):  # null: the default
        raise HTTPException(403, f"token {caller.name!r} may only add or change cameras of its owners/sites")


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


@router.get("", response_model=list[CameraStatus], responses=problems(401, 403, 503),
            summary="Every camera (the token reaches) with its state and rates")
async def cameras(caller: Caller = reader, site: str | None = Query(None, examples=["simpang-lima"]),
                  owner: str | None = Query(None, examples=["dishub"])) -> list[CameraStatus]:
    try:
        rows = await call_supervisor("cameras")
    except NoFleet:
        return []
    return [r for r in rows if caller.reaches(r.site, r.owner) and site in (None, r.site) and owner in (None, r.owner)]


@router.get("/{camera_id}", response_model=CameraDetail, responses=problems(401, 403, 404, 503),
            summary="One camera: its state, rates and whole config (password redacted)")
async def camera(request: Request, camera_id: str, caller: Caller = reader) -> CameraDetail:
    await reach_camera(request, caller, camera_id, unknown(camera_id))
    return await call_supervisor("camera", camera_id)


@router.get("/{camera_id}/detections/latest", response_model=LatestDetections, responses=problems(401, 403, 404, 503),
            summary="The detections of the camera's most recently analysed frame")
async def latest_detections(request: Request, camera_id: str, caller: Caller = reader) -> LatestDetections:
    await reach_camera(request, caller, camera_id, unknown(camera_id))
    latest = await call_supervisor("latest_detections", camera_id)
    if latest is None:
        known = camera_id in {c.id for c in await call_supervisor("cameras")}
        raise HTTPException(404, f"camera {camera_id!r} has no analysed frame yet" if known else unknown(camera_id))
    return latest


@router.post("", status_code=201, response_model=CameraDetail, responses=problems(401, 403, 409, 413, 422, 503),
             summary="Add a camera; it starts on a shard with room")
async def add_camera(camera: CameraConfig, caller: Caller = admin) -> CameraDetail:
    within_reach(caller, camera.model_dump())
    async with scrubbed(camera.url):
        try:  # schemes no fleet accepts are refused here, fleet or not (local files: the fleet decides)
            source_kind(camera.url, allow_files=True)
        except ValueError as error:
            raise HTTPException(422, f"url: {error}") from None
        return await call_supervisor("add_camera", camera.model_dump(mode="json"))


@router.patch("/{camera_id}", response_model=CameraDetail, responses=problems(401, 403, 404, 413, 422, 503),
              summary="Change a camera's config (analysis rate, zones, decode mode…), applied live",
              description="A JSON Merge Patch (RFC 7396): nested objects merge, `null` deletes a key (back to its "
                          "default), lists replace. The answer shows the camera's whole resulting config.")
async def update_camera(request: Request, camera_id: str, caller: Caller = admin,
                        changes: dict = Body(examples=[{"analytics": {"fps": 5}}])) -> CameraDetail:
    await reach_camera(request, caller, camera_id, unknown(camera_id))
    if caller.limited and ("site" in changes or "owner" in changes):
        current = (await call_supervisor("camera", camera_id)).config
        within_reach(caller, {**current, **{k: changes[k] for k in ("site", "owner") if k in changes}})
    url = changes.get("url")
    async with scrubbed(url if isinstance(url, str) else None):
        return await call_supervisor("update_camera", camera_id, changes)


@router.delete("/{camera_id}", status_code=204, responses=problems(401, 403, 404, 503), summary="Remove a camera")
async def remove_camera(request: Request, camera_id: str, caller: Caller = admin) -> Response:
    await reach_camera(request, caller, camera_id, unknown(camera_id))
    await call_supervisor("remove_camera", camera_id)
    return Response(status_code=204)
