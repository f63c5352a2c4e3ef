"""GET /v1/counts: stored people counts (zone occupancy and visits, line crossings) per bucket."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from matakota.serve.auth import Caller, authenticate
from matakota.serve.reach import reach_camera, reach_site
from matakota.serve.schemas import CountBucket, CountsResponse, problems
from matakota.serve.stored import get_store, known, parse_time
from matakota.store import BUCKETS, InvalidQuery, Store

router = APIRouter(prefix="/v1", tags=["data"])


@router.get("/counts", response_model=CountsResponse, responses=problems(400, 404, 503),
            summary="People counts per bucket")
async def counts(request: Request, store: Store = Depends(get_store), caller: Caller = Depends(authenticate),
           site: str | None = Query(None, description="all cameras of this site", examples=["simpang-lima"]),
           camera: str | None = Query(None, description="one camera", examples=["cam-0042"]),
           from_: str = Query(alias="from", description="ISO-8601 or epoch seconds, inclusive",
                              examples=["2026-01-01T00:00:00Z"]),
           to: str = Query(description="ISO-8601 or epoch seconds, exclusive", examples=["2026-01-02T00:00:00Z"]),
           bucket: str = Query("1h", description="1m, 1h or 1d (UTC-aligned)", examples=["1h"])) -> CountsResponse:
    """Zone occupancy/visits and line crossings per camera, zone/line and bucket, over [from, to)."""
    if (site is None) == (camera is None):
        raise HTTPException(400, "give exactly one of site= or camera=")
    if bucket not in BUCKETS:
        raise HTTPException(400, f"bucket must be one of {', '.join(BUCKETS)}, got {bucket!r}")
    start, end = parse_time(from_, "from"), parse_time(to, "to")
    if not start < end:
        raise HTTPException(400, "from must be before to")
    await run_in_threadpool(known, store, site, camera)
    if camera is not None:
        await reach_camera(request, caller, camera, f"unknown camera {camera!r}")
        cameras = None
    else:
        cameras = await reach_site(request, caller, site, f"unknown site {site!r}")
    try:
        rows = await run_in_threadpool(lambda: store.counts(start=start, end=end, bucket=bucket, camera=camera,
                                                             site=site, cameras=cameras))
    except InvalidQuery as error:
        raise HTTPException(400, str(error)) from None
    return CountsResponse(bucket=bucket, from_=start, to=end, camera=camera, site=site,
                          items=[CountBucket(**vars(r)) for r in rows])
