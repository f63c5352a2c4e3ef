"""Typed, frozen event values with ids that are stable under retries.

`incident_id` names one incident (same camera, type, key and start time → same id); `id` names one
state change of it, so "started" and "ended" are distinct rows but a retried write of either is not.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class EventType(str, Enum):
    PARKING_VIOLATION = "parking_violation"
    FLOOD_LEVEL = "flood_level"
    FLOOD_RISE = "flood_rise"
    CROWDING = "crowding"
    INTRUSION = "intrusion"


class EventState(str, Enum):
    STARTED = "started"
    ENDED = "ended"
    RAISED = "raised"
    CLEARED = "cleared"


def stable_id(*parts: object) -> str:
    """Deterministic 20-hex-digit id of the parts (floats rounded to the millisecond)."""
    text = "|".join(f"{p:.3f}" if isinstance(p, float) else str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Event:
    type: EventType
    camera: str
    site: str
    key: str  # what raised it: the zone, line or alarm level name
    state: EventState
    start: float  # epoch seconds the incident began
    end: float | None = None  # set on ended/cleared
    payload: dict[str, Any] = field(default_factory=dict, hash=False)
    box: tuple[float, float, float, float] | None = None  # evidence box in image pixels

    @property
    def incident_id(self) -> str:
        return stable_id(self.camera, self.type.value, self.key, float(self.start))

    @property
    def id(self) -> str:
        return stable_id(self.incident_id, self.state.value)

    @property
    def duration_s(self) -> float | None:
        return None if self.end is None else self.end - self.start

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "incident_id": self.incident_id,
            "type": self.type.value,
            "camera": self.camera,
            "site": self.site,
            "key": self.key,
            "state": self.state.value,
            "start": round(self.start, 3),
            "end": None if self.end is None else round(self.end, 3),
            "payload": dict(self.payload),
            **({"box": [round(v, 1) for v in self.box]} if self.box is not None else {}),
        }


# Payload keys that identify a vehicle's plate: its reading and the link to the evidence package with the plate crop.
# Only `enforcement` tokens and webhook targets with `plates: true` get them (docs/architecture.md, "Parking cases
# and plates").
PLATE_KEYS = frozenset({"plate", "plate_confidence", "plate_votes", "plate_reads", "evidence"})


def without_plate(event: dict) -> dict:
    """The event JSON without plate keys in its payload (the same dict when it had none)."""
    payload = event.get("payload") or {}
    if not PLATE_KEYS & payload.keys():
        return event
    return {**event, "payload": {k: v for k, v in payload.items() if k not in PLATE_KEYS}}


def box_tuple(xyxy) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in xyxy)
    return (x0, y0, x1, y1)
