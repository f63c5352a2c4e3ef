"""/v1/events: stored events (paged, newest first), one event, its evidence image, and a live stream (SSE).

The stream reads the EventSink's broadcast ring by long-polling `EventSink.poll` over Ray rather than the
store: events arrive as soon as they are stored, without each open page polling the database. A client
that reconnects sends `Last-Event-ID`; what is still in the ring is replayed (older events: use /v1/events).
`app.state.event_feed` is the feed (anything with `async poll(after, timeout_s, limit)`; the ingress gives
`SinkFeed`, tests a `Broadcast`).
"""

from __future__ import annotations

import json
import re
import time

import ray
from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from matakota.analytics.evidence import hide_plate
from matakota.config import ApiConfig
from matakota.core.events import EventType
from matakota.core.names import EVENT_SINK_NAME, NAMESPACE
from matakota.serve.audit_trail import record, record_plates
from matakota.serve.auth import Caller, authenticate, require
from matakota.serve.reach import directory, reach_camera, reach_site, reachable
from matakota.serve.routes.cases import as_seen_by
from matakota.serve.schemas import EventOut, EventPage, HandleIn, problems
from matakota.serve.stored import get_store, known, parse_time
from matakota.store import MAX_PAGE, AlreadyHandled, InvalidQuery, Store, original_name

router = APIRouter(prefix="/v1", tags=["data"])
ERRORS = problems(400, 404, 503)
HEARTBEAT_S = 15.0
SEQUENCE = re.compile(r"[0-9]{1,18}")  # a stream's event ids (anything longer is not one of ours)
SSE_RETRY_AFTER_S = 5
REACH_REFRESH_S = 10.0  # a limited token's live stream re-reads which cameras it reaches this often


class SinkFeed:
    """The live stream's source: the EventSink actor, looked up when a page connects (it may start later)."""

    async def poll(self, after, timeout_s, limit):
        try:
            sink = ray.get_actor(EVENT_SINK_NAME, namespace=NAMESPACE)
        except ValueError:
            raise HTTPException(503, "no event sink is running (start a fleet)") from None
        return await sink.poll.remote(after, timeout_s, limit)


class StreamSlots:
    """Live-stream clients one API replica serves at once: each holds one of the replica's ongoing requests for
    as long as it is open, so the cap (`api.max_sse_clients`) stays below its max_ongoing_requests."""

    def __init__(self, cap: int) -> None:
        self.cap, self.open = cap, 0

    def take(self) -> None:
        if self.open >= self.cap:
            raise HTTPException(503, f"too many live-stream clients on this replica ({self.cap}); retry later",
                                headers={"Retry-After": str(SSE_RETRY_AFTER_S)})
        self.open += 1  # one event loop per replica: no lock needed

    def release(self) -> None:
        self.open -= 1


def stream_slots(request: Request) -> StreamSlots:
    state = request.app.state
    if getattr(state, "stream_slots", None) is None:  # an app that did not set a cap gets the default one
        state.stream_slots = StreamSlots(ApiConfig().max_sse_clients)
    return state.stream_slots


class SlotStream(StreamingResponse):
    """A stream that holds one live-stream slot (and whatever `on_close` gives back) until it ends, however it
    ends."""

    def __init__(self, slots: StreamSlots, *args, on_close=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.slots, self.on_close = slots, on_close

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.slots.release()
            if self.on_close is not None:
                self.on_close()


def get_feed(request: Request):
    feed = getattr(request.app.state, "event_feed", None)
    if feed is None:
        raise HTTPException(503, "the live event stream is not available")
    return feed


def _type(value: str | None) -> str | None:
    allowed = [t.value for t in EventType]
    if value is not None and value not in allowed:
        raise HTTPException(400, f"type must be one of {', '.join(allowed)}, got {value!r}")
    return value


@router.get("/events", response_model=EventPage, responses=ERRORS, summary="Stored events, newest first")
async def events(request: Request, store: Store = Depends(get_store), caller: Caller = Depends(authenticate),
           type: str | None = Query(None, description="event type", examples=["flood_level"]),
           camera: str | None = Query(None, examples=["cam-0042"]),
           site: str | None = Query(None, examples=["kota-lama"]),
           since: str | None = Query(None, description="start ≥ since (ISO-8601 or epoch)"),
           until: str | None = Query(None, description="start < until (ISO-8601 or epoch)"),
           limit: int = Query(100, description=f"page size, 1..{MAX_PAGE}"),
           cursor: str | None = Query(None, description="next_cursor of the previous page"),
           acknowledged: bool | None = Query(None, description="only alarms acknowledged (true) or not (false)")
           ) -> EventPage:
    if not 1 <= limit <= MAX_PAGE:
        raise HTTPException(400, f"limit must be 1..{MAX_PAGE}, got {limit}")
    t0, t1 = parse_time(since, "since"), parse_time(until, "until")
    if t0 is not None and t1 is not None and not t0 < t1:
        raise HTTPException(400, "since must be before until")
    await run_in_threadpool(known, store, site, camera)
    fleet = await directory(request) if caller.limited else {}  # asked once for every check below
    cameras = await reachable(request, caller, fleet)
    if camera is not None:
        await reach_camera(request, caller, camera, f"unknown camera {camera!r}", fleet)
    if site is not None:
        await reach_site(request, caller, site, f"unknown site {site!r}", fleet)
    try:
        page = await run_in_threadpool(lambda: store.events(type=_type(type), camera=camera, site=site, since=t0,
                                                             until=t1, limit=limit, cursor=cursor, cameras=cameras,
                                                             acknowledged=acknowledged))
    except InvalidQuery as error:
        raise HTTPException(400, str(error)) from None
    await record_plates(request, caller, page.items)
    return EventPage(items=[EventOut.of(as_seen_by(e, caller)) for e in page.items],
                     next_cursor=page.next_cursor)


@router.get("/events/stream", responses={**ERRORS, 200: {"content": {"text/event-stream": {}}}},
            response_class=StreamingResponse, summary="Live events (Server-Sent Events)")
async def stream(request: Request, feed=Depends(get_feed), slots: StreamSlots = Depends(stream_slots),
                 caller: Caller = Depends(authenticate),
                 type: str | None = Query(None), camera: str | None = Query(None), site: str | None = Query(None),
                 after: int | None = Query(None, ge=0, le=10**18,
                                           description="replay from this sequence (like Last-Event-ID)"),
                 max_events: int | None = Query(None, ge=1, le=100_000, description="close after this many"),
                 last_event_id: str | None = Header(None)):
    """`event: event` messages whose `data` is an event JSON and `id` its sequence; `: keepalive` comments."""
    _type(type)
    if after is None and last_event_id:
        if not SEQUENCE.fullmatch(last_event_id):
            raise HTTPException(400, "Last-Event-ID must be the id of an event this stream sent (digits)")
        after = int(last_event_id)

    reach = {"cameras": await reachable(request, caller), "at": time.monotonic()}

    async def reached() -> frozenset[str] | None:
        if reach["cameras"] is not None and time.monotonic() - reach["at"] > REACH_REFRESH_S:
            reach.update(cameras=await reachable(request, caller), at=time.monotonic())
        return reach["cameras"]

    def wanted(event: dict, cameras: frozenset[str] | None) -> bool:
        """An event, or an operator's note about one ("handled": it has no type), for this stream."""
        return ((cameras is None or event.get("camera") in cameras) and camera in (None, event.get("camera"))
                and site in (None, event.get("site")) and type in (None, event.get("type", type)))

    def batch(items, cameras, room: int | None) -> list[tuple[int, dict]]:
        """The items this stream sends of a poll's, up to `room` events (None: no cap)."""
        chosen = []
        for seq, event in items:
            if room is not None and room <= 0:
                break
            if wanted(event, cameras):
                chosen.append((seq, event))
                if room is not None and event.get("kind") != "handled":
                    room -= 1
        return chosen

    async def messages():
        cursor, sent = after, 0
        while not await request.is_disconnected():
            items, cursor = await feed.poll(cursor, HEARTBEAT_S, 100)
            if not items:
                yield ": keepalive\n\n"
            cameras = await reached() if items else None
            chosen = batch(items, cameras, None if max_events is None else max_events - sent)
            try:  # one entry per poll whose events show plates, before they go out
                await record_plates(request, caller, [e for _, e in chosen if e.get("kind") != "handled"])
            except HTTPException:
                return  # the audit log cannot be written: the stream ends, the client resumes later
            for seq, event in chosen:
                if event.get("kind") == "handled":  # an operator acknowledged or resolved an alarm
                    yield f"id: {seq}\nevent: handled\ndata: {json.dumps(event)}\n\n"
                else:
                    out = EventOut.of(as_seen_by(event, caller))
                    yield f"id: {seq}\nevent: event\ndata: {out.model_dump_json()}\n\n"
                    sent += 1
            if max_events is not None and sent >= max_events:
                return

    slots.take()  # last: nothing between here and the response can fail and leak the slot
    return SlotStream(slots, messages(), media_type="text/event-stream",
                       headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/events/{event_id}", response_model=EventOut, responses=ERRORS, summary="One event")
async def event(request: Request, event_id: str, store: Store = Depends(get_store),
                caller: Caller = Depends(authenticate)) -> EventOut:
    found = await reached_event(request, caller, store, event_id)
    await record_plates(request, caller, [found])
    return EventOut.of(as_seen_by(found, caller))


async def reached_event(request: Request, caller: Caller, store: Store, event_id: str) -> dict:
    """The stored event; 404 for an unknown one and for one of a camera outside the caller's reach."""
    unknown = f"unknown event {event_id!r}"
    found = await run_in_threadpool(store.get_event, event_id)
    if found is None:
        raise HTTPException(404, unknown)
    await reach_camera(request, caller, found["camera"], unknown)
    return found


@router.get("/events/{event_id}/snapshot", response_class=Response, summary="Evidence image of an event",
            responses={**ERRORS, 200: {"content": {"image/jpeg": {}}}})
async def snapshot(request: Request, event_id: str,
                   crop: bool = Query(False, description="the crop around the box instead"),
                   original: bool = Query(False, description="unblurred (`enforcement` tokens only; kept for "
                                                             "store.original_retention_days)"),
                   store: Store = Depends(get_store), caller: Caller = Depends(authenticate)):
    """People are pixelated in every image served; the unblurred original only to `enforcement` tokens. A parking
    violation's vehicle shows its plate to `enforcement` tokens only: other tokens get its plate area pixelated."""
    if original and not caller.can("enforcement"):
        raise HTTPException(403, "this token lacks the 'enforcement' scope (unblurred evidence)")
    found = await reached_event(request, caller, store, event_id)
    name = found.get("snapshot_crop" if crop else "snapshot")
    if name and original:
        name = original_name(name)
        await record(request, caller, "evidence.download", event_id, {"crop": crop, "camera": found["camera"]})
    image = await run_in_threadpool(store.snapshot, name) if name else None
    if image is None:
        what = "crop" if crop else "snapshot"
        raise HTTPException(404, f"event {event_id!r} has no {'unblurred ' if original else ''}{what}" +
                            (" (nobody to blur in it, or past store.original_retention_days)" if original else ""))
    if shows_plate(found) and not caller.can("enforcement"):
        try:
            image = await run_in_threadpool(hide_plate, image, found["box"], crop)
        except ValueError:  # not an image we can change: never served as it is
            raise HTTPException(404, f"event {event_id!r} has no image that can be shown without its plate") from None
    return Response(image, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


def shows_plate(event: dict) -> bool:
    """Whether the event's evidence images show a vehicle's plate (a parking violation's vehicle, in its box)."""
    return event.get("type") == EventType.PARKING_VIOLATION.value and bool(event.get("box"))


@router.get("/events/{event_id}/clip.mp4", response_class=Response, summary="Video clip of an alarm",
            responses={**ERRORS, 200: {"content": {"video/mp4": {}}}})
async def clip(request: Request, event_id: str, store: Store = Depends(get_store),
               caller: Caller = Depends(authenticate)):
    """The camera's own video around the alarm's moment (`clip.before_s`/`after_s` of the camera's config), remuxed,
    not re-encoded: people are not blurred in it, so it is for `operator` and `enforcement` tokens, kept for
    store.original_retention_days, and each download is in the audit log."""
    if not (caller.can("operator") or caller.can("enforcement")):
        raise HTTPException(403, "clips show people unblurred: this token needs the 'operator' or 'enforcement' scope")
    found = await reached_event(request, caller, store, event_id)
    data = await run_in_threadpool(store.snapshot, found["clip"]) if found.get("clip") else None
    if data is None:
        raise HTTPException(404, f"event {event_id!r} has no clip (not an alarm's start, not cut yet, or past "
                                 "store.original_retention_days)")
    await record(request, caller, "clip.download", event_id, {"camera": found["camera"]})
    return Response(data, media_type="video/mp4", headers={"Cache-Control": "private, max-age=3600"})


async def _handle(request: Request, caller: Caller, store: Store, event_id: str, action: str, comment: str) -> EventOut:
    """Record what an operator did about the event's alarm (its incident), audit it, and tell every open console."""
    found = await reached_event(request, caller, store, event_id)
    try:
        done = await run_in_threadpool(store.handle_alarm, found["incident_id"], action, caller.name, comment)
    except AlreadyHandled as error:
        raise HTTPException(409, f"this alarm was {action} already by {error.done['by']!r}") from None
    await record(request, caller, f"alarm.{action}", found["incident_id"], {"event": event_id, "comment": comment})
    note = {"kind": "handled", "action": action, "incident_id": found["incident_id"], "event_id": event_id,
            "camera": found["camera"], "site": found["site"], **done}
    try:
        sink = ray.get_actor(EVENT_SINK_NAME, namespace=NAMESPACE)
        await sink.announce.remote(note)
    except (ValueError, ray.exceptions.RayActorError):
        pass  # no sink (no fleet) or it restarts: consoles see it on their next resync
    await record_plates(request, caller, [found])
    return EventOut.of(as_seen_by({**found, action: done}, caller))


@router.post("/events/{event_id}/acknowledge", response_model=EventOut, responses=problems(400, 404, 409, 422, 503),
             summary="Acknowledge an alarm (operator): who and when are stored and pushed to every console")
async def acknowledge(request: Request, event_id: str, body: HandleIn = Body(default_factory=HandleIn),
                      store: Store = Depends(get_store), caller: Caller = Depends(require("operator"))) -> EventOut:
    return await _handle(request, caller, store, event_id, "acknowledged", body.comment)


@router.post("/events/{event_id}/resolve", response_model=EventOut, responses=problems(400, 404, 409, 422, 503),
             summary="Resolve an alarm (operator), with a comment")
async def resolve(request: Request, event_id: str, body: HandleIn = Body(default_factory=HandleIn),
                  store: Store = Depends(get_store), caller: Caller = Depends(require("operator"))) -> EventOut:
    return await _handle(request, caller, store, event_id, "resolved", body.comment)
