"""What the API writes to the audit log (store: hash-chained, append-only): who (the token's name, never the
token), what, which target, when and from where. Every use of an `admin` or `enforcement` endpoint is recorded
by the scope check itself (serve/auth.py `require`); routes record what they do beyond that (an unblurred evidence
download, plates shown with events: one `plates.view` entry per response, naming the events, never the plates).
An entry that cannot be written refuses the request (503): nothing privileged happens unrecorded."""

from __future__ import annotations

import logging

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from matakota.analytics.plates import UNREAD

log = logging.getLogger("matakota.audit")
HIDDEN_PARAMS = frozenset({"access_token"})
PLATES_VIEW = "plates.view"


def record_now(request: Request, actor: str, action: str, target: str, detail: dict | None = None) -> None:
    """Append an entry (blocking: call from a thread). No store (a bare test app): nothing to write to."""
    store = getattr(request.app.state, "store", None)
    if store is None:
        return
    remote = request.client.host if request.client else None
    try:
        store.audit_append(actor, action, target, detail or {}, remote)
    except Exception as error:  # noqa: BLE001 - any failure: the privileged request does not go ahead
        log.error("audit entry %s %s by %s not written: %s", action, target, actor, type(error).__name__)
        raise HTTPException(503, "the audit log cannot be written; retry shortly", headers={"Retry-After": "5"}) \
            from None


async def record(request: Request, caller, action: str, target: str, detail: dict | None = None) -> None:
    await run_in_threadpool(record_now, request, caller.name, action, target, detail)


def record_use(request: Request, caller) -> None:
    """An entry for a call of a privileged endpoint: method and route, path parameters, query parameters."""
    route = request.scope.get("route")
    action = f"{request.method} {getattr(route, 'path', request.url.path)}"
    target = ",".join(str(v) for v in request.path_params.values())
    query = {k: v for k, v in request.query_params.items() if k not in HIDDEN_PARAMS}
    record_now(request, caller.name, action, target, {"query": query} if query else {})


def read_plates(events) -> list[str]:
    """The ids of the events whose payload names a plate (an `unread` plate discloses nothing)."""
    return [str(e.get("id")) for e in events if (e.get("payload") or {}).get("plate") not in (None, UNREAD)]


async def record_plates(request: Request, caller, events) -> None:
    """One entry for a response that shows `caller` the plates of some of `events` (none when it shows none):
    the target is the event's id, or `N events` with the ids in the detail."""
    if not caller.can("enforcement"):
        return  # nobody else is shown a plate
    ids = read_plates(events)
    if ids:
        await record(request, caller, PLATES_VIEW, ids[0] if len(ids) == 1 else f"{len(ids)} events",
                     {"events": ids, "path": request.url.path})
