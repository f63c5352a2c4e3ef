"""One FastAPI router per resource; `serve/api.py` mounts them all. Each reads what it needs from `app.state`."""

from matakota.serve.routes import counts, events

DATA_ROUTERS = (counts.router, events.router)  # stored data: they need `app.state.store` (and `event_feed`)
