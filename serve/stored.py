"""What the routes over stored data share: the store, times in queries, and 404 for unknown sites and cameras."""

from __future__ import annotations

import math
from datetime import datetime, timezone

from fastapi import HTTPException, Request

from matakota.store import Store


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


def known(store: Store, site: str | None, camera: str | None) -> None:
    """404 for a site or camera the store has never seen."""
    if site is not None and site not in store.sites():
        raise HTTPException(404, f"unknown site {site!r}")
    if camera is not None and camera not in store.cameras():
        raise HTTPException(404, f"unknown camera {camera!r}")
