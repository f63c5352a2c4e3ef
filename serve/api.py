"""The HTTP API downstream services call: `create_app()` builds it from one router per resource.

The Api ingress (serve/ingress.py) serves the app it builds; tests build their own with what they need.
Every bad input is a 4xx with a `detail`, never a 500, and never echoes the input (camera URLs carry passwords).
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from matakota.config import ApiConfig, DetectorConfig, ReportsConfig
from matakota.core import VERSION
from matakota.serve import ui
from matakota.serve.auth import READ, TokenFile, Tokens
from matakota.serve.body import BodyLimit
from matakota.serve.coalescer import FrameCoalescer
from matakota.serve.routes import DATA_ROUTERS, cameras, detect, events, fleet, health, live
from matakota.serve.schemas import problems
from matakota.store import Store

MAX_JSON_BODY_BYTES = 1 << 20  # JSON bodies (camera add/change) are small: a camera with zones is a few kB


async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    """422 naming each bad field, without echoing the input (camera URLs carry passwords)."""
    problems = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()]
    return JSONResponse({"detail": problems}, status_code=422)


def detector_frames(detector, config: DetectorConfig) -> FrameCoalescer:
    """Uploads grouped into the Detector's batch size; as many may wait as the Detector would queue."""
    waiting = None if config.max_queued_requests < 0 else max(config.max_queued_requests, config.max_batch_size)
    return FrameCoalescer(detector, max_frames=config.max_batch_size, max_waiting=waiting)


def create_app(config: ApiConfig, *, store: Store | None, detector=None, model_name: str = "",
               tokens: Tokens | TokenFile | None = None, event_feed=None,
               reports: ReportsConfig | None = None, detector_config: DetectorConfig | None = None) -> FastAPI:
    """The API over a Detector handle, a store and a live event feed; `tokens` None means no token needed;
    `reports` the time zone and site titles of counts and reports; `detector_config` the Detector's batch and
    queue sizes, which uploads are grouped and bounded by."""
    app = FastAPI(title="matakota", version=VERSION,
                  description="City-scale CCTV analytics: detections, cameras, counts and events.")
    app.state.config, app.state.detector, app.state.model_name = config, detector, model_name
    app.state.store, app.state.event_feed, app.state.tokens = store, event_feed, tokens
    app.state.reports = reports or ReportsConfig()
    app.state.open_paths = frozenset(config.open_paths)
    app.state.stream_slots = events.StreamSlots(config.max_sse_clients)
    app.state.decoding = asyncio.Semaphore(1)
    if detector is not None:
        app.state.detector_frames = detector_frames(detector, detector_config or DetectorConfig())
    app.add_middleware(BodyLimit, limit=min(config.max_body_bytes, MAX_JSON_BODY_BYTES),
                       own_limit=frozenset({detect.PATH}))
    app.add_exception_handler(RequestValidationError, invalid_request)
    for router in (detect.router, health.router, cameras.router, live.router, fleet.router):
        app.include_router(router)
    for router in DATA_ROUTERS:
        app.include_router(router, dependencies=READ, responses=problems(401, 403))
    app.include_router(ui.router)  # the operator page; it holds no data, its calls carry the token
    return app
