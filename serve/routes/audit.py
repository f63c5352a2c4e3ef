"""/v1/audit: the audit log (store/audit.py), newest first, for `admin` tokens. Reading it is itself recorded."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.concurrency import run_in_threadpool

from matakota.serve.auth import ADMIN
from matakota.serve.schemas import AuditEntryOut, AuditPage, problems
from matakota.serve.stored import get_store, parse_time
from matakota.store import MAX_PAGE, InvalidQuery, Store

router = APIRouter(prefix="/v1", tags=["audit"])


@router.get("/audit", response_model=AuditPage, dependencies=ADMIN, responses=problems(400, 401, 403, 503),
            summary="The audit log, newest first (admin)")
async def audit(store: Store = Depends(get_store),
                since: str | None = Query(None, description="t ≥ since (ISO-8601 or epoch)"),
                until: str | None = Query(None, description="t < until (ISO-8601 or epoch)"),
                actor: str | None = Query(None, description="a token's name", examples=["dishub-ops"]),
                action: str | None = Query(None, examples=["evidence.download"]),
                limit: int = Query(100, description=f"page size, 1..{MAX_PAGE}"),
                cursor: str | None = Query(None, description="next_cursor of the previous page")) -> AuditPage:
    """Who (a token's name) did what to which target, when and from where; `matakota audit verify` checks the
    chain."""
    if not 1 <= limit <= MAX_PAGE:
        raise HTTPException(400, f"limit must be 1..{MAX_PAGE}, got {limit}")
    t0, t1 = parse_time(since, "since"), parse_time(until, "until")
    if t0 is not None and t1 is not None and not t0 < t1:
        raise HTTPException(400, "since must be before until")
    try:
        page = await run_in_threadpool(lambda: store.audit(since=t0, until=t1, actor=actor, action=action,
                                                            limit=limit, cursor=cursor))
    except InvalidQuery as error:
        raise HTTPException(400, str(error)) from None
    return AuditPage(items=[AuditEntryOut(**e.to_json()) for e in page.items], next_cursor=page.next_cursor)
