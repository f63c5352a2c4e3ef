"""Parking cases for the transport agency (Dishub): a violation's evidence package and the day's listing.

`GET /v1/events/{id}/evidence.zip` (the violation's started event, or any event of its incident) and
`GET /v1/parking/cases?day=YYYY-MM-DD&format=csv|json` need the `enforcement` scope: they carry plates, and every
call is in the audit log (serve/auth.py `require`). Plates on ordinary events are for enforcement tokens only
(`as_seen_by`). Packages are kept for `store.case_retention_days` (docs/architecture.md, "Parking cases and
plates")."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from matakota.analytics.case_evidence import package_zip
from matakota.core.events import without_plate
from matakota.serve.auth import Caller, require
from matakota.serve.reach import reach_camera, reachable
from matakota.serve.schemas import problems
from matakota.serve.stored import get_store
from matakota.store import InvalidQuery, Store

router = APIRouter(prefix="/v1", tags=["enforcement"])
EXPORT_COLUMNS = ("day", "plate", "class", "camera", "site", "zone", "start", "limit", "end", "duration_s",
                  "plate_confidence", "offence", "repeat_of", "continues", "ended_by", "event_id", "evidence_url")


def as_seen_by(event: dict, caller: Caller) -> dict:
    """The event as `caller` may see it: plates (and the evidence link) only for `enforcement` tokens."""
    return event if caller.can("enforcement") else without_plate(event)


async def _case_of(request: Request, caller: Caller, store: Store, event_id: str) -> dict:
    unknown = f"event {event_id!r} has no evidence package (not a parking violation, or past " \
              "store.case_retention_days)"
    case = await run_in_threadpool(store.case, event_id)
    if case is None:
        event = await run_in_threadpool(store.get_event, event_id)
        if event is not None:
            case = await run_in_threadpool(store.case_for_incident, event["incident_id"])
    if case is None:
        raise HTTPException(404, unknown)
    await reach_camera(request, caller, case["camera"], unknown)
    return case


@router.get("/events/{event_id}/evidence.zip", response_class=Response,
            summary="A parking violation's evidence package (enforcement)",
            responses={**problems(401, 403, 404, 503), 200: {"content": {"application/zip": {}}}})
async def evidence_zip(request: Request, event_id: str, store: Store = Depends(get_store),
                       caller: Caller = Depends(require("enforcement"))):
    """Photos at arrival and at the limit (time, camera, site, location burned in), the vehicle and plate crops,
    `manifest.json` (SHA-256 of every file) and `signature.json` (its HMAC). Check it with
    `matakota evidence verify FILE.zip`."""
    case = await _case_of(request, caller, store, event_id)
    files = await run_in_threadpool(store.case_files, case["event_id"])
    return Response(package_zip(files), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="violation-{case["event_id"]}.zip"',
        "Cache-Control": "private, no-store"})


def _day_range(day: str, tz: str) -> tuple[float, float, ZoneInfo]:
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise HTTPException(400, f"timezone must be an IANA zone such as Asia/Jakarta, got {tz!r}") from None
    try:
        first = date.fromisoformat(day)
    except ValueError:
        raise HTTPException(400, f"day must be YYYY-MM-DD, got {day!r}") from None
    start = datetime.combine(first, time(), zone)
    return start.timestamp(), datetime.combine(first + timedelta(days=1), time(), zone).timestamp(), zone


def _row(case: dict, zone: ZoneInfo, base: str) -> dict:
    local = lambda t: None if t is None else datetime.fromtimestamp(t, zone).isoformat(timespec="seconds")  # noqa: E731
    return {"day": datetime.fromtimestamp(case["limit"], zone).date().isoformat(), "plate": case["plate"],
            "class": case["class"], "camera": case["camera"], "site": case["site"], "zone": case["zone"],
            "start": local(case["start"]), "limit": local(case["limit"]), "end": local(case["end"]),
            "duration_s": case["duration_s"], "plate_confidence": round(case["plate_confidence"], 3),
            "offence": case["offence"], "repeat_of": case["repeat_of"], "continues": case["continues"],
            "ended_by": case["ended_by"], "event_id": case["event_id"],
            "evidence_url": f"{base}/v1/events/{case['event_id']}/evidence.zip"}


@router.get("/parking/cases", summary="A day's parking violations for the transport agency (enforcement)",
            responses={**problems(400, 401, 403, 503), 200: {"content": {"text/csv": {}, "application/json": {}}}})
async def parking_cases(request: Request, store: Store = Depends(get_store),
                        caller: Caller = Depends(require("enforcement")),
                        day: str = Query(description="local calendar day, YYYY-MM-DD", examples=["2026-12-01"]),
                        format: str = Query("json", description="json or csv"),
                        timezone: str = Query("Asia/Jakarta", description="IANA zone the day is in (WIB)")):
    """One row per violation that began that day: plate (or `unread`), class, zone, start (first seen standing),
    duration (null while it stands), offence number (2+: the same plate in the same zone within a day), `continues`
    (the case of the same stay it takes over after a failover; start is then the stay's), `ended_by` (null: it
    left; `continued`; `shard lost`) and the link to its evidence package."""
    if format not in ("json", "csv"):
        raise HTTPException(400, f"format must be json or csv, got {format!r}")
    since, until, zone = _day_range(day, timezone)
    cameras = await reachable(request, caller)
    try:
        cases = await run_in_threadpool(lambda: store.cases(since=since, until=until, cameras=cameras))
    except InvalidQuery as error:
        raise HTTPException(400, str(error)) from None
    base = str(request.base_url).rstrip("/")
    rows = [_row(case, zone, base) for case in cases]
    if format == "json":
        return {"day": day, "timezone": timezone, "cases": rows}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="parking-{day}.csv"'})
