"""Which cameras a caller reaches. A token limited to owners and/or sites sees only their cameras: any other
camera, site or event is, to it, unknown (the same 404 as one that does not exist), never forbidden (403 would say
it exists).

The cameras' owners and sites come from the fleet (`app.state.camera_directory` when set: an async callable
returning {camera id: (site, owner)}; tests give one), else the fleet supervisor. A camera the fleet no longer
has is reached only by unlimited tokens.
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from matakota.serve.auth import Caller
from matakota.serve.fleet_client import NoFleet, call_supervisor


async def directory(request: Request) -> dict[str, tuple[str, str]]:
    """Every camera of the fleet → (site, owner); empty without a fleet."""
    lookup = getattr(request.app.state, "camera_directory", None)
    if lookup is not None:
        return await lookup()
    try:
        rows = await call_supervisor("cameras")
    except NoFleet:
        return {}
    return {r.id: (r.site, r.owner) for r in rows}


async def reachable(request: Request, caller: Caller, cameras: dict | None = None) -> frozenset[str] | None:
    """The ids of the cameras (of `directory`, asked when not given) the caller reaches; None for a caller that is
    not limited (every camera)."""
    if not caller.limited:
        return None
    cameras = await directory(request) if cameras is None else cameras
    return frozenset(c for c, (site, owner) in cameras.items() if caller.reaches(site, owner))


async def reach_camera(request: Request, caller: Caller, camera: str, unknown: str, fleet: dict | None = None) -> None:
    """404 (with the message an unknown camera gets, `unknown`) for a camera outside the caller's reach (among
    `fleet`, the `directory` already asked, when given)."""
    cameras = await reachable(request, caller, fleet)
    if cameras is not None and camera not in cameras:
        raise HTTPException(404, unknown)


async def reach_site(request: Request, caller: Caller, site: str, unknown: str,
                     fleet: dict | None = None) -> frozenset[str] | None:
    """The caller's cameras (None: every camera); 404 (`unknown`) for a site where it reaches none."""
    if not caller.limited:
        return None
    fleet = await directory(request) if fleet is None else fleet
    cameras = await reachable(request, caller, fleet)
    if not any(fleet[c][0] == site for c in cameras):
        raise HTTPException(404, unknown)
    return cameras
