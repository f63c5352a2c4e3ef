"""HTTP API for stored data: counts, events, snapshots and a live event stream (FastAPI `APIRouter`).

The ingress mounts it with `app.include_router(router)` and sets `app.state.store` (a `Store`) and, for
the live stream, `app.state.event_sink` (the EventSink actor handle) or `app.state.event_feed` (anything
with `async poll(after, timeout_s, limit)`, e.g. a `Broadcast`). Auth: pass the read-scope dependency
at `include_router(..., dependencies=[...])`. Every bad input is a 4xx with a `detail`; never a 500.

The stream reads the EventSink's broadcast ring by long-polling `EventSink.poll` over Ray rather than the
store: events arrive as soon as they are stored, without each open page polling the database. A client
that reconnects sends `Last-Event-ID`; what is still in the ring is replayed (older events: use /v1/events).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from matakota.analytics.events import EventType
from matakota.cluster.store import BUCKETS, MAX_PAGE, InvalidQuery, Store

router = APIRouter(prefix="/v1", tags=["data"])
HEARTBEAT_S = 15.0
# Live-stream clients one API replica serves at once (`app.state.max_sse_clients` overrides); each holds one of
# the replica's ongoing requests for as long as it is open, so this must stay below its max_ongoing_requests.
DEFAULT_MAX_SSE_CLIENTS = 32
SSE_RETRY_AFTER_S = 5
_sse_clients = 0  # open streams in this replica (one event loop: no lock needed)


def sse_clients() -> int:
    return _sse_clients


class _CountedStream(StreamingResponse):
    """A stream that holds one of the replica's live-stream slots until it ends, however it ends."""

    async def __call__(self, scope, receive, send) -> None:
        global _sse_clients
        try:
            await super().__call__(scope, receive, send)
        finally:
            _sse_clients -= 1


def _take_sse_slot(request: Request) -> None:
    global _sse_clients
    cap = getattr(request.app.state, "max_sse_clients", DEFAULT_MAX_SSE_CLIENTS)
    if _sse_clients >= cap:
        raise HTTPException(503, f"too many live-stream clients on this replica ({cap}); retry later",
                            headers={"Retry-After": str(SSE_RETRY_AFTER_S)})
    _sse_clients += 1

T0 = 1767225600.0  # 2026-01-01T00:00:00Z, for examples
EVENT_EXAMPLE = {
    "id": "3f1c2a9b8d7e6f5a4b3c", "incident_id": "9a8b7c6d5e4f3a2b1c0d", "type": "parking_violation",
    "camera": "cam-0042", "site": "simpang-lima", "key": "no-parking-north", "state": "started",
    "start": T0 + 3600, "end": None, "payload": {"class": "car", "dwell_s": 301.0},
    "box": [412.0, 188.5, 530.0, 260.0], "snapshot_url": "/v1/events/3f1c2a9b8d7e6f5a4b3c/snapshot",
    "crop_url": "/v1/events/3f1c2a9b8d7e6f5a4b3c/snapshot?crop=true",
}


class Problem(BaseModel):
    detail: str = Field(examples=["bucket must be one of 1m, 1h, 1d, got '5m'"])


class CountBucket(BaseModel):
    camera: str = Field(examples=["cam-0042"])
    site: str = Field(examples=["simpang-lima"])
    kind: str = Field(description="zone or line", examples=["zone"])
    name: str = Field(examples=["plaza"])
    start: float = Field(description="bucket start, epoch seconds (UTC-aligned)", examples=[T0])
    end: float = Field(examples=[T0 + 3600])
    samples: int = Field(description="analysed frames", examples=[3600])
    occupancy_max: int = Field(examples=[37])
    occupancy_mean: float = Field(description="samples-weighted mean occupancy", examples=[12.4])
    visits: int = Field(examples=[812])
    in_count: int = Field(examples=[0])
    out_count: int = Field(examples=[0])


class CountsResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    bucket: str = Field(examples=["1h"])
    from_: float = Field(alias="from", examples=[T0])
    to: float = Field(examples=[T0 + 86400])
    camera: str | None = Field(None, examples=[None])
    site: str | None = Field(None, examples=["simpang-lima"])
    items: list[CountBucket]


class EventOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EVENT_EXAMPLE]})

    id: str
    incident_id: str
    type: str
    camera: str
    site: str
    key: str
    state: str
    start: float
    end: float | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    box: list[float] | None = None
    snapshot_url: str | None = Field(None, description="evidence image (full frame, box drawn)")
    crop_url: str | None = Field(None, description="evidence crop around the box")


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page; null on the last",
                                    examples=["WzE3NjcyMjkyMDAuMCwgIjNmMWMyYTliOGQ3ZTZmNWE0YjNjIl0"])


def get_store(request: Request) -> Store:
    store = getattr(request.app.state, "store", None)
    if store is None:
        raise HTTPException(503, "the data store is not available")
    return store


def parse_time(value: str | None, name: str) -> float | None:
    """ISO-8601 (naive means UTC) or epoch seconds."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise HTTPException(400, f"{name} must be ISO-8601 or epoch seconds, got {value!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    if not math.isfinite(seconds) or seconds < 0:
        raise HTTPException(400, f"{name} must be a finite, non-negative epoch time, got {value!r}")
    return seconds


def event_out(event: dict) -> EventOut:
    base = f"/v1/events/{event['id']}/snapshot"
    return EventOut(**{k: v for k, v in event.items() if k in EventOut.model_fields},
                    snapshot_url=base if event.get("snapshot") else None,
                    crop_url=f"{base}?crop=true" if event.get("snapshot_crop") else None)


def _known(store: Store, site: str | None, camera: str | None) -> None:
    if site is not None and site not in store.sites():
        raise HTTPException(404, f"unknown site {site!r}")
    if camera is not None and camera not in store.cameras():
        raise HTTPException(404, f"unknown camera {camera!r}")


def _type(value: str | None) -> str | None:
    allowed = [t.value for t in EventType]
    if value is not None and value not in allowed:
        raise HTTPException(400, f"type must be one of {', '.join(allowed)}, got {value!r}")
    return value


ERRORS = {400: {"model": Problem}, 404: {"model": Problem}, 503: {"model": Problem}}


@router.get("/counts", response_model=CountsResponse, responses=ERRORS, summary="People counts per bucket")
def counts(store: Store = Depends(get_store),
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
    _known(store, site, camera)
    try:
        rows = store.counts(start=start, end=end, bucket=bucket, camera=camera, site=site)
    except InvalidQuery as error:
        raise HTTPException(400, str(error)) from None
    return CountsResponse(bucket=bucket, from_=start, to=end, camera=camera, site=site,
                          items=[CountBucket(**vars(r)) for r in rows])


@router.get("/events", response_model=EventPage, responses=ERRORS, summary="Stored events, newest first")
def events(store: Store = Depends(get_store),
           type: str | None = Query(None, description="event type", examples=["flood_level"]),
           camera: str | None = Query(None, examples=["cam-0042"]),
           site: str | None = Query(None, examples=["kota-lama"]),
           since: str | None = Query(None, description="start ≥ since (ISO-8601 or epoch)"),
           until: str | None = Query(None, description="start < until (ISO-8601 or epoch)"),
           limit: int = Query(100, description=f"page size, 1..{MAX_PAGE}"),
           cursor: str | None = Query(None, description="next_cursor of the previous page")) -> EventPage:
    if not 1 <= limit <= MAX_PAGE:
        raise HTTPException(400, f"limit must be 1..{MAX_PAGE}, got {limit}")
    t0, t1 = parse_time(since, "since"), parse_time(until, "until")
    if t0 is not None and t1 is not None and not t0 < t1:
        raise HTTPException(400, "since must be before until")
    _known(store, site, camera)
    try:
        page = store.events(type=_type(type), camera=camera, site=site, since=t0, until=t1, limit=limit,
                            cursor=cursor)
    except InvalidQuery as error:
        raise HTTPException(400, str(error)) from None
    return EventPage(items=[event_out(e) for e in page.items], next_cursor=page.next_cursor)


class _SinkFeed:
    def __init__(self, sink):
        self.sink = sink

    async def poll(self, after, timeout_s, limit):
        return await self.sink.poll.remote(after, timeout_s, limit)


def get_feed(request: Request):
    state = request.app.state
    if getattr(state, "event_feed", None) is not None:
        return state.event_feed
    if getattr(state, "event_sink", None) is not None:
        return _SinkFeed(state.event_sink)
    raise HTTPException(503, "the live event stream is not available")


@router.get("/events/stream", responses={**ERRORS, 200: {"content": {"text/event-stream": {}}}},
            response_class=StreamingResponse, summary="Live events (Server-Sent Events)")
async def stream(request: Request, feed=Depends(get_feed),
                 type: str | None = Query(None), camera: str | None = Query(None), site: str | None = Query(None),
                 after: int | None = Query(None, ge=0, description="replay from this sequence (like Last-Event-ID)"),
                 max_events: int | None = Query(None, ge=1, le=100_000, description="close after this many"),
                 last_event_id: str | None = Header(None)):
    """`event: event` messages whose `data` is an event JSON and `id` its sequence; `: keepalive` comments."""
    _type(type)
    if after is None and last_event_id and last_event_id.isdigit():
        after = int(last_event_id)

    def wanted(event: dict) -> bool:
        return all(v is None or event.get(k) == v for k, v in (("type", type), ("camera", camera), ("site", site)))

    async def messages():
        cursor, sent = after, 0
        while not await request.is_disconnected():
            items, cursor = await feed.poll(cursor, HEARTBEAT_S, 100)
            if not items:
                yield ": keepalive\n\n"
            for seq, event in items:
                if wanted(event):
                    yield f"id: {seq}\nevent: event\ndata: {event_out(event).model_dump_json()}\n\n"
                    sent += 1
                    if max_events is not None and sent >= max_events:
                        return

    _take_sse_slot(request)  # last: nothing between here and the response can fail and leak the slot
    return _CountedStream(messages(), media_type="text/event-stream",
                          headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/events/{event_id}", response_model=EventOut, responses=ERRORS, summary="One event")
def event(event_id: str, store: Store = Depends(get_store)) -> EventOut:
    found = store.get_event(event_id)
    if found is None:
        raise HTTPException(404, f"unknown event {event_id!r}")
    return event_out(found)


@router.get("/events/{event_id}/snapshot", response_class=FileResponse, summary="Evidence image of an event",
            responses={**ERRORS, 200: {"content": {"image/jpeg": {}}}})
def snapshot(event_id: str, crop: bool = Query(False, description="the crop around the box instead"),
             store: Store = Depends(get_store)):
    found = store.get_event(event_id)
    if found is None:
        raise HTTPException(404, f"unknown event {event_id!r}")
    name = found.get("snapshot_crop" if crop else "snapshot")
    if not name or store.snapshots is None:
        raise HTTPException(404, f"event {event_id!r} has no {'crop' if crop else 'snapshot'}")
    try:
        path = store.snapshots.path(name)
    except ValueError:
        raise HTTPException(404, "snapshot unavailable") from None
    if not path.is_file():
        raise HTTPException(404, f"the snapshot of event {event_id!r} is gone (retention)")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})
