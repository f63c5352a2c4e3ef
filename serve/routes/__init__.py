"""One FastAPI router per resource; `serve/api.py` mounts them all. Each reads what it needs from `app.state`."""

from matakota.serve.routes import audit, cases, counts, events, levels

# Stored data: they need `app.state.store` (events also `event_feed`; levels asks the fleet for a camera's alarm
# levels, or `app.state.camera_config`). Mounted for `read` tokens; audit asks `admin` of its own, cases
# `enforcement`.
DATA_ROUTERS = (counts.router, levels.router, events.router, audit.router, cases.router)
