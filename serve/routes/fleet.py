"""GET /v1/fleet: the control plane at a glance."""

from __future__ import annotations

from fastapi import APIRouter

from matakota.core.messages import FleetView
from matakota.serve.auth import READ
from matakota.serve.fleet_client import call_supervisor
from matakota.serve.schemas import problems

router = APIRouter()


@router.get("/v1/fleet", response_model=FleetView, dependencies=READ, responses=problems(401, 403, 503),
            summary="Shards, nodes, cameras per shard, load, last rebalance, failovers")
async def fleet() -> FleetView:
    return await call_supervisor("fleet_view")
