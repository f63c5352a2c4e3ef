"""What a camera sees: its newest analysed frame as JPEG (`frame.jpg`) and a live view at the analysed rate
(`live.mjpg`, MJPEG). Frames come from the shard that owns the camera and are rendered there only when asked.

People and vehicles' plates are pixelated for `read` tokens; `operator` and `enforcement` tokens (command-centre
staff checking an alarm by eye) see them. A live view holds one of the replica's stream slots (`api.max_sse_clients`,
shared with the event stream) and one of the camera's (`api.max_live_viewers_per_camera`), and stops when its viewer
leaves.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import ray
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from matakota.core.names import NAMESPACE
from matakota.serve.auth import Caller, require
from matakota.serve.fleet_client import call_supervisor
from matakota.serve.reach import reach_camera
from matakota.serve.routes.events import SSE_RETRY_AFTER_S, SlotStream, StreamSlots, stream_slots
from matakota.serve.schemas import problems

router = APIRouter(prefix="/v1/cameras")
reader = Depends(require("read"))
BOUNDARY = "frame"
RELOOK_AFTER_S = 5.0  # a live view with nothing new for this long asks the supervisor where the camera runs now
WIDTH = Query(None, ge=16, le=3840, description="scale down to this many pixels across")
OVERLAY = Query(True, description="draw detections, zones and lines")


def sees_people(caller: Caller) -> bool:
    return caller.can("operator") or caller.can("enforcement")


async def _shard(camera_id: str):
    """The shard running the camera, and the camera's analysis period."""
    detail = await call_supervisor("camera", camera_id)
    if detail.shard is None:
        raise HTTPException(404, f"camera {camera_id!r} has no analysed frame yet")
    try:
        shard = ray.get_actor(detail.shard, namespace=NAMESPACE)
    except ValueError:
        raise HTTPException(503, f"camera {camera_id!r} is moving between shards; retry shortly",
                            headers={"Retry-After": "2"}) from None
    return shard, 1.0 / float(detail.config.get("analytics", {}).get("fps", 1.0))


@router.get("/{camera_id}/frame.jpg", response_class=Response, responses={
    **problems(401, 403, 404, 503), 200: {"content": {"image/jpeg": {}}}},
            summary="The camera's newest analysed frame, with its detections, zones and lines")
async def frame(request: Request, camera_id: str, overlay: bool = OVERLAY, width: int | None = WIDTH,
                caller: Caller = reader) -> Response:
    await reach_camera(request, caller, camera_id, f"no camera {camera_id!r}")
    shard, _ = await _shard(camera_id)
    got = await shard.frame_jpeg.remote(camera_id, overlay, width, not sees_people(caller))
    if got is None:
        raise HTTPException(404, f"camera {camera_id!r} has no analysed frame yet")
    taken_at, jpeg = got
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store", "X-Frame-Time": f"{taken_at:.3f}"})


class CameraViewers:
    """Live viewers per camera on this replica (one event loop: no lock needed)."""

    def __init__(self, cap: int) -> None:
        self.cap, self.open = cap, Counter()

    def take(self, camera_id: str) -> None:
        if self.open[camera_id] >= self.cap:
            raise HTTPException(503, f"camera {camera_id!r} has {self.cap} live viewers on this replica already; "
                                     "retry later", headers={"Retry-After": str(SSE_RETRY_AFTER_S)})
        self.open[camera_id] += 1

    def release(self, camera_id: str) -> None:
        self.open[camera_id] -= 1
        if self.open[camera_id] <= 0:
            del self.open[camera_id]


def camera_viewers(request: Request) -> CameraViewers:
    state = request.app.state
    if getattr(state, "camera_viewers", None) is None:
        config = getattr(state, "config", None)
        state.camera_viewers = CameraViewers(config.max_live_viewers_per_camera if config else 4)
    return state.camera_viewers


@router.get("/{camera_id}/live.mjpg", responses={
    **problems(401, 403, 404, 503), 200: {"content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {}}}},
            summary="Live view: each newly analysed frame, as MJPEG (an <img> shows it)")
async def live(request: Request, camera_id: str, overlay: bool = OVERLAY, width: int | None = WIDTH,
               caller: Caller = reader, slots: StreamSlots = Depends(stream_slots),
               viewers: CameraViewers = Depends(camera_viewers)):
    await reach_camera(request, caller, camera_id, f"no camera {camera_id!r}")
    shard, period = await _shard(camera_id)
    blur = not sees_people(caller)

    async def parts():
        nonlocal shard, period
        last, quiet = None, 0.0
        while not await request.is_disconnected():
            try:
                got = await shard.frame_jpeg.remote(camera_id, overlay, width, blur, last)
            except ray.exceptions.RayActorError:
                got = None
            if got is not None:
                last, jpeg = got
                quiet = 0.0
                yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                       + jpeg + b"\r\n")
            elif (quiet := quiet + period / 2) >= RELOOK_AFTER_S:
                quiet = 0.0
                try:  # moved, or its shard died and it runs elsewhere now
                    shard, period = await _shard(camera_id)
                except HTTPException:
                    pass
            await asyncio.sleep(period / 2)

    viewers.take(camera_id)
    try:
        slots.take()
    except HTTPException:
        viewers.release(camera_id)
        raise
    return SlotStream(slots, parts(), on_close=lambda: viewers.release(camera_id),
                      media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                      headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
