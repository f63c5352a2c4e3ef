"""GET /v1/fleet: the control plane at a glance."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from matakota.core.messages import FleetView
from matakota.serve.auth import Caller, require
from matakota.serve.fleet_client import call_supervisor
from matakota.serve.schemas import problems

router = APIRouter()


@router.get("/v1/fleet", response_model=FleetView, responses=problems(401, 403, 503),
            summary="Shards, nodes, cameras per shard, load, last rebalance, failovers")
async def fleet(caller: Caller = Depends(require("read"))) -> FleetView:
    if caller.limited:  # it names every camera that moved or failed over
        raise HTTPException(403, f"token {caller.name!r} is limited to owners/sites; the fleet view is not")
    return await call_supervisor("fleet_view")
