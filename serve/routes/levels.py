"""GET /v1/levels: a flood-gauge camera's stored water-level readings, raw or per bucket, with its alarm levels.

The alarm levels (`analytics.gauge.levels`) come from the fleet's config of the camera: `app.state.camera_config`
when set (an async callable camera id → config dict or None; tests give one), else the fleet supervisor.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from matakota.serve.auth import Caller, authenticate
from matakota.serve.fleet_client import camera_config
from matakota.serve.reach import reach_camera
from matakota.serve.schemas import LevelBucketOut, LevelReadingOut, LevelsResponse, problems
from matakota.serve.stored import get_store, parse_time
from matakota.store import AUTO_BUCKETS, AUTO_RAW_READINGS, AUTO_RAW_SPAN_S, LEVEL_BUCKETS, InvalidQuery, Store

router = APIRouter(prefix="/v1", tags=["data"])
BUCKET_CHOICES = ("auto", "raw", *LEVEL_BUCKETS)
DESCRIPTION = (
    f"Readings with t in [from, to), oldest first. `bucket=auto` (the default) answers the raw readings when the "
    f"range spans at most {AUTO_RAW_SPAN_S // 3600} h and holds at most {AUTO_RAW_READINGS:,} readings, else "
    f"min/mean/max of the level per bucket with the number of readings and of uncertain ones, in the smallest "
    f"bucket of {', '.join(LEVEL_BUCKETS)} that makes at most {AUTO_BUCKETS:,}; the answer's `bucket` says which "
    "(null: raw readings). `alarm_levels` are the camera's `gauge.levels` from the fleet's config.")


def alarm_levels(config: dict | None) -> dict[str, float] | None:
    """The camera's alarm levels (name → cm) from its config; None without one (the fleet does not know it)."""
    if config is None:
        return None
    gauge = (config.get("analytics") or {}).get("gauge") or {}
    return {name: float(cm) for name, cm in (gauge.get("levels") or {}).items()}


@router.get("/levels", response_model=LevelsResponse, responses=problems(400, 404, 503),
            summary="Water levels of a flood-gauge camera", description=DESCRIPTION)
async def levels(request: Request, store: Store = Depends(get_store), caller: Caller = Depends(authenticate),
                 camera: str = Query(description="the gauge camera", examples=["gauge-banjir-kanal"]),
                 from_: str = Query(alias="from", description="ISO-8601 or epoch seconds, inclusive",
                                    examples=["2026-01-01T00:00:00Z"]),
                 to: str = Query(description="ISO-8601 or epoch seconds, exclusive", examples=["2026-01-01T06:00:00Z"]),
                 bucket: str = Query("auto", description=f"auto, raw or one of {', '.join(LEVEL_BUCKETS)}",
                                     examples=["auto"])) -> LevelsResponse:
    if bucket not in BUCKET_CHOICES:
        raise HTTPException(400, f"bucket must be one of {', '.join(BUCKET_CHOICES)}, got {bucket!r}")
    start, end = parse_time(from_, "from"), parse_time(to, "to")
    if not start < end:
        raise HTTPException(400, "from must be before to")
    await reach_camera(request, caller, camera, f"unknown camera {camera!r}")
    lookup = getattr(request.app.state, "camera_config", None) or camera_config
    config = await lookup(camera)
    if config is None and camera not in await run_in_threadpool(store.cameras):
        raise HTTPException(404, f"unknown camera {camera!r}")
    try:
        series = await run_in_threadpool(lambda: store.levels(camera=camera, start=start, end=end, bucket=bucket))
    except InvalidQuery as error:
        raise HTTPException(400, str(error)) from None
    return LevelsResponse(
        camera=camera, site=series.site or (config or {}).get("site"), from_=start, to=end, bucket=series.bucket,
        alarm_levels=alarm_levels(config), readings=[LevelReadingOut(**vars(r)) for r in series.readings],
        buckets=[LevelBucketOut(**vars(b)) for b in series.buckets])
