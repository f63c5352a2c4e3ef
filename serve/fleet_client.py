"""The API's way to the fleet: calls on the FleetSupervisor actor, with its failures as HTTP answers."""

from __future__ import annotations

import asyncio
import logging

import ray
from fastapi import HTTPException

from matakota.core.errors import CameraError
from matakota.core.names import NAMESPACE, SUPERVISOR_NAME

log = logging.getLogger("matakota.api")


class NoFleet(HTTPException):
    """503: no fleet supervisor is running (none was started)."""

    def __init__(self) -> None:
        super().__init__(503, "no fleet is running (start one with `matakota up` or `matakota demo`)")


async def call_supervisor(method: str, *args):
    """Call the fleet supervisor: `NoFleet` while there is none, 503 while it restarts, 4xx for a refused change."""
    try:
        supervisor = ray.get_actor(SUPERVISOR_NAME, namespace=NAMESPACE)
    except ValueError:
        raise NoFleet() from None
    try:
        return await getattr(supervisor, method).remote(*args)
    except (CameraError, ray.exceptions.RayTaskError) as error:
        cause = getattr(error, "cause", error)
        if isinstance(cause, CameraError):
            raise HTTPException(cause.status, str(cause)) from None
        # Only the type is logged: an actor's error text may quote a camera URL.
        log.error("fleet supervisor %s failed: %s", method, type(cause).__name__)
        raise HTTPException(500, f"the fleet supervisor failed ({type(cause).__name__})") from None
    except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError):
        raise HTTPException(503, "the fleet supervisor is restarting; retry shortly",
                            headers={"Retry-After": "2"}) from None


async def camera_config(camera_id: str, timeout_s: float = 5.0) -> dict | None:
    """The camera's config as the fleet holds it (password redacted); None when there is no fleet (or no Ray), the
    fleet does not know the camera, or the supervisor does not answer in time. For what is nice to have, not needed."""
    if not ray.is_initialized():
        return None
    try:
        detail = await asyncio.wait_for(call_supervisor("camera", camera_id), timeout_s)
    except (HTTPException, asyncio.TimeoutError):
        return None
    return detail.config
