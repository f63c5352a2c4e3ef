"""GET /healthz: liveness, version and the model and provider in use."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from matakota.core import VERSION
from matakota.serve.auth import READ
from matakota.serve.schemas import Health, problems

log = logging.getLogger("matakota.api")
router = APIRouter()


@router.get("/healthz", response_model=Health, responses=problems(401, 403, 503), dependencies=READ,
            summary="Liveness and model; open without a token unless api.open_paths says otherwise")
async def healthz(request: Request):
    try:
        detector = await request.app.state.detector.health.remote()
    except Exception as error:  # any failure to reach the detector is "not healthy"
        log.warning("health check: detector unreachable: %s", type(error).__name__)
        return JSONResponse({"detail": "detector unavailable"}, status_code=503)
    return Health(status="ok", version=VERSION, **detector)
