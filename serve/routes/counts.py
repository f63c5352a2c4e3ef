"""Stored people counts: per camera, zone or line (`/v1/counts`), per site by its counting plan (`/v1/visits`), and
a period's visit report (`/v1/reports/visits`, JSON, CSV or Markdown). Buckets are local calendar hours, days, ISO
weeks and months in the deployment's time zone (`reports.timezone`), stated in every answer."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from matakota.config import ReportsConfig
from matakota.core.calendar import CALENDAR_BUCKETS, boundaries, parse_period, zone
from matakota.serve.auth import Caller, authenticate
from matakota.serve.reach import directory, reachable
from matakota.serve.schemas import CountBucket, CountsResponse, SiteBucket, VisitsResponse, problems
from matakota.serve.stored import get_store, parse_time
from matakota.store import BUCKET_ALIASES, COUNT_BUCKETS, InvalidQuery, Store
from matakota.store.reports import report_csv, report_markdown, visit_report

router = APIRouter(prefix="/v1", tags=["data"])
MAX_FILTERS = 500  # sites or cameras one query may name
MEDIA = {"application/json": "json", "text/csv": "csv", "text/markdown": "md"}


def _names(values: list[str] | None, what: str) -> list[str] | None:
    if values is not None and len(values) > MAX_FILTERS:
        raise HTTPException(400, f"at most {MAX_FILTERS} {what} at once, got {len(values)}")
    return sorted(set(values)) if values else None


def _range(from_: str, to: str) -> tuple[float, float]:
    start, end = parse_time(from_, "from"), parse_time(to, "to")
    if not start < end:
        raise HTTPException(400, "from must be before to")
    return start, end


async def _cameras_reached(request: Request, caller: Caller, store: Store, cameras: list[str] | None,
                           sites: list[str] | None) -> list[str] | None:
    """The cameras a counts query may read (None: every one): 404 for a site or camera the store never saw or the
    caller does not reach, with the text an unknown one gets."""
    known_sites, known_cameras = await run_in_threadpool(lambda: (set(store.sites()), set(store.cameras())))
    for name, wanted, known in (("site", sites, known_sites), ("camera", cameras, known_cameras)):
        for value in wanted or ():
            if value not in known:
                raise HTTPException(404, f"unknown {name} {value!r}")
    fleet = await directory(request) if caller.limited else {}
    reached = await reachable(request, caller, fleet)
    if reached is None:
        return cameras
    for camera in cameras or ():
        if camera not in reached:
            raise HTTPException(404, f"unknown camera {camera!r}")
    for site in sites or ():
        if not any(fleet[c][0] == site for c in reached):
            raise HTTPException(404, f"unknown site {site!r}")
    return sorted(set(cameras) if cameras else reached)


async def _sites_reached(request: Request, caller: Caller, store: Store, sites: list[str] | None) -> list[str] | None:
    """The sites whose own figures the caller may read (None: every one). A site's figures add up all its cameras,
    so a limited token reaches a site only when it reaches every camera of it; 404 otherwise, as for an unknown."""
    known = set(await run_in_threadpool(store.sites))
    for site in sites or ():
        if site not in known:
            raise HTTPException(404, f"unknown site {site!r}")
    if not caller.limited:
        return sites
    fleet = await directory(request)
    reached = await reachable(request, caller, fleet) or frozenset()
    whole = {site for site in {s for s, _ in fleet.values()}
             if all(c in reached for c, (s, _) in fleet.items() if s == site)}
    for site in sites or ():
        if site not in whole:
            raise HTTPException(404, f"unknown site {site!r}")
    return sites or sorted(whole)


def _reports(request: Request) -> ReportsConfig:
    return getattr(request.app.state, "reports", None) or ReportsConfig()


def _timezone(request: Request) -> str:
    return _reports(request).timezone


@router.get("/counts", response_model=CountsResponse, responses=problems(400, 404, 503),
            summary="People counts per camera, zone or line and bucket")
async def counts(request: Request, store: Store = Depends(get_store), caller: Caller = Depends(authenticate),
                 site: list[str] | None = Query(None, description="sites (repeat; none and no camera: the city)",
                                                examples=[["simpang-lima"]]),
                 camera: list[str] | None = Query(None, description="cameras (repeat)", examples=[["cam-0042"]]),
                 from_: str = Query(alias="from", description="ISO-8601 or epoch seconds, inclusive",
                                    examples=["2026-11-01T00:00:00+07:00"]),
                 to: str = Query(description="ISO-8601 or epoch seconds, exclusive",
                                 examples=["2026-12-01T00:00:00+07:00"]),
                 bucket: str = Query("hour", description="1m (stored minutes), or hour, day, week (ISO, from "
                                                         "Monday), month in the deployment's time zone",
                                     examples=["day"])) -> CountsResponse:
    """Zone occupancy, visits, dwell and line crossings per camera, zone or line and bucket over [from, to), widened
    to whole buckets. Cameras that see the same people each count them: for a site's own figures ask /v1/visits."""
    bucket = BUCKET_ALIASES.get(bucket, bucket)
    if bucket not in COUNT_BUCKETS:
        raise HTTPException(400, f"bucket must be one of {', '.join(COUNT_BUCKETS)}, got {bucket!r}")
    start, end = _range(from_, to)
    sites, cameras = _names(site, "sites"), _names(camera, "cameras")
    reached = await _cameras_reached(request, caller, store, cameras, sites)
    tz_name = _timezone(request)
    try:
        rows = await run_in_threadpool(lambda: store.counts(start=start, end=end, bucket=bucket, cameras=reached,
                                                             sites=sites, timezone=tz_name))
    except InvalidQuery as error:
        raise HTTPException(400, str(error)) from None
    tz = zone(tz_name)
    first, last = _whole(start, end, bucket, tz)
    return CountsResponse(bucket=bucket, timezone=tz_name, from_=first, to=last, cameras=cameras, sites=sites,
                          items=[CountBucket(**vars(r) | CountBucket.of(r, bucket, tz)) for r in rows])


def _whole(start: float, end: float, bucket: str, tz) -> tuple[float, float]:
    """[start, end) widened to whole buckets."""
    if bucket == "1m":
        return start, end
    edges = boundaries(start, end, bucket, tz)
    return edges[0], edges[-1]


@router.get("/visits", response_model=VisitsResponse, responses=problems(400, 404, 503),
            summary="Sites' visits, peak and dwell per bucket, by their counting plans")
async def visits(request: Request, store: Store = Depends(get_store), caller: Caller = Depends(authenticate),
                 site: list[str] | None = Query(None, description="sites (repeat; none: every site)"),
                 from_: str = Query(alias="from", description="ISO-8601 or epoch seconds, inclusive"),
                 to: str = Query(description="ISO-8601 or epoch seconds, exclusive"),
                 bucket: str = Query("day", description="hour, day, week or month, local"),
                 per_site: bool = Query(True, description="one row per site and bucket; false: the sites added up "
                                                          "per bucket")) -> VisitsResponse:
    """A site's visits come from its entrances only, so people seen by two cameras count once (config
    `reports.sites`); a site without a plan adds up every zone."""
    if bucket not in CALENDAR_BUCKETS:
        raise HTTPException(400, f"bucket must be one of {', '.join(CALENDAR_BUCKETS)}, got {bucket!r}")
    start, end = _range(from_, to)
    sites = await _sites_reached(request, caller, store, _names(site, "sites"))
    tz_name = _timezone(request)
    try:
        rows = await run_in_threadpool(lambda: store.visits(start=start, end=end, bucket=bucket, sites=sites,
                                                             timezone=tz_name, per_site=per_site))
    except InvalidQuery as error:
        raise HTTPException(400, str(error)) from None
    tz = zone(tz_name)
    first, last = _whole(start, end, bucket, tz)
    return VisitsResponse(bucket=bucket, timezone=tz_name, from_=first, to=last, sites=_names(site, "sites"),
                          items=[SiteBucket(**vars(r) | SiteBucket.of(r, bucket, tz)) for r in rows])


@router.get("/reports/visits", responses={**problems(400, 404, 406, 503), 200: {"content": {
    "application/json": {}, "text/csv": {}, "text/markdown": {}}}}, summary="A period's visit report")
async def visits_report(request: Request, store: Store = Depends(get_store), caller: Caller = Depends(authenticate),
                        period: str = Query(description="2026 (by month), 2026-11 or 2026-W47 (by day), 2026-11-05 "
                                                        "(by hour)", examples=["2026-11"]),
                        site: list[str] | None = Query(None, description="sites (repeat; none: the city)"),
                        format: str | None = Query(None, description="json, csv or md; default: from Accept")):
    """Visits per day (month, hour), busiest days and hours, dwell, the peak, change from the period before, and
    each site's share. CSV is the rows (one per day), times with their UTC offset."""
    tz_name = _timezone(request)
    try:
        wanted = parse_period(period, zone(tz_name))
    except ValueError as error:
        raise HTTPException(400, str(error)) from None
    kind = format or _negotiate(request.headers.get("accept", ""))
    if kind not in MEDIA.values():
        raise HTTPException(406 if format is None else 400,
                            "answers are application/json, text/csv or text/markdown (format=json|csv|md)")
    sites = await _sites_reached(request, caller, store, _names(site, "sites"))
    titles = {name: plan.title for name, plan in _reports(request).sites.items()}
    try:
        report = await run_in_threadpool(visit_report, store, wanted, sites, titles)
    except InvalidQuery as error:
        raise HTTPException(400, str(error)) from None
    name = f"visits-{wanted.name}{'-' + '-'.join(site) if site else ''}"
    if kind == "csv":
        return Response(report_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'inline; filename="{name}.csv"'})
    if kind == "md":
        return Response(report_markdown(report), media_type="text/markdown; charset=utf-8")
    return JSONResponse(report)


def _negotiate(accept: str) -> str | None:
    """json, csv or md from an Accept header (the first listed that we make; */* or none: json)."""
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in MEDIA:
            return MEDIA[media]
        if media in ("*/*", "application/*", "text/*", ""):
            return "csv" if media == "text/*" else "json"
    return None
