"""The messages actors send each other, and the API shows: one definition each (docs/architecture.md).

Frozen dataclasses: cheap to build and to pickle across Ray (a heartbeat carries a row per camera, and the
supervisor of a 10,417-camera fleet reads every row every second). The `Field` annotations only document them
for the API's OpenAPI schema, which FastAPI derives from these same classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated

from pydantic import Field


class CameraState(str, Enum):
    ASSIGNING = "assigning"  # desired, but no shard reports it yet (being placed, or its shard just died)
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"  # transient: unreachable, stalled, ended; retried with backoff
    ERROR = "error"  # the source answers but is unusable (credentials, not video); still retried


@dataclass(frozen=True)
class CameraStatus:
    """One camera as its shard reports it (the supervisor says `assigning` for one no shard reports)."""

    id: str
    site: str
    url: Annotated[str, Field(description="camera URL with the password redacted")]
    state: Annotated[CameraState, Field(examples=["online"])]
    reason: Annotated[str, Field(description="why the camera is not online (redacted)")] = ""
    shard: Annotated[str | None, Field(description="the CameraShard actor that owns it")] = None
    fps_in: Annotated[float, Field(description="frames decoded per second")] = 0.0
    fps_analysed: Annotated[float, Field(description="frames analysed per second")] = 0.0
    drops: Annotated[int, Field(description="frames dropped: overwritten, late or refused by backpressure")] = 0
    last_frame_age_s: Annotated[float | None, Field(description="seconds since the last decoded frame")] = None
    latency_p50_s: Annotated[float | None, Field(description="decoded → detections back, median")] = None
    latency_p99_s: Annotated[float | None, Field(description="decoded → detections back, 99th percentile")] = None
    frames_decoded: int = 0
    frames_analysed: int = 0
    detections: Annotated[int, Field(description="objects detected so far")] = 0
    reconnects: int = 0
    stalls: int = 0
    occupancy: Annotated[dict[str, int], Field(description="people now in each zone")] = field(default_factory=dict)
    reader_drops: Annotated[int, Field(description="drops: decoded frames overwritten before analysis")] = 0
    late_drops: Annotated[int, Field(description="drops: frames older than the shard's deadline")] = 0
    backpressure_drops: Annotated[int, Field(description="drops: detector requests already in flight")] = 0
    detector_errors: Annotated[int, Field(description="frames whose detector request failed")] = 0
    gauge: Annotated[bool, Field(description="reads a flood gauge: its water levels are at GET /v1/levels")] = False
    owner: Annotated[str, Field(description="who owns the camera (tokens may be limited to owners)")] = "city"
    location: Annotated[dict | None, Field(description="{lat, lon} where the camera stands, if configured")] = None


@dataclass(frozen=True)
class CameraDetail(CameraStatus):
    """One camera's status and its whole config (GET /v1/cameras/{id}, and the answer to adding or changing it)."""

    config: Annotated[dict, Field(description="the camera's config, every field (URL password redacted)")] = field(
        default_factory=dict)


@dataclass(frozen=True)
class OutboxStats:
    pending: int  # records not yet acknowledged by the EventSink
    batches: int  # sealed batches awaiting acknowledgement
    acked: int
    dropped: int  # records given up on because the outbox was full
    pending_bytes: int = 0  # what the pending records weigh, evidence images included
    dropped_by_kind: dict[str, int] = field(default_factory=dict)  # "event", "count", "level"


@dataclass(frozen=True)
class ShardHeartbeat:
    """A shard's liveness and every camera's status, in one message (the supervisor polls it)."""

    shard: str
    node: str
    time: float
    inflight: int
    batches: int
    frames_sent: int
    detector_errors: int
    outbox: OutboxStats
    cameras: tuple[CameraStatus, ...]


@dataclass(frozen=True)
class StatusChange:
    """A camera's state changed: shards tell the EventSink, which publishes it (MQTT, retained)."""

    camera: str
    site: str
    state: CameraState
    reason: str
    shard: str
    time: float


@dataclass(frozen=True)
class Detection:
    label: Annotated[str, Field(description="COCO class name", examples=["person"])]
    class_id: Annotated[int, Field(description="COCO class id", examples=[0])]
    score: Annotated[float, Field(description="objectness × class probability", examples=[0.87])]
    box: Annotated[list[float], Field(description="x0, y0, x1, y1 in the image's pixels",
                                      examples=[[312.0, 40.5, 401.2, 380.0]])]
    track_id: Annotated[int | None, Field(description="tracker identity (confirmed tracks only)")] = None


@dataclass(frozen=True)
class LatestDetections:
    camera: str
    pts_s: Annotated[float, Field(description="stream timestamp of the analysed frame")]
    frame_time: Annotated[float, Field(description="when the frame was decoded (epoch seconds)")]
    width: int
    height: int
    detections: tuple[Detection, ...]


@dataclass(frozen=True)
class ShardView:
    name: str
    node: str | None
    cameras: int
    load: Annotated[float, Field(description="estimated CPU seconds per second of its cameras")]
    last_heartbeat: Annotated[float | None, Field(description="epoch seconds; null before the first")]


@dataclass(frozen=True)
class MoveRecord:
    camera: str
    source: Annotated[str, Field(serialization_alias="from")]
    target: Annotated[str, Field(serialization_alias="to")]
    at: float


@dataclass(frozen=True)
class FailoverRecord:
    shard: str
    reason: str
    cameras: int
    at: float
    duration_s: Annotated[float | None, Field(description="until its cameras were online again; null while under way")]


@dataclass(frozen=True)
class LoopStats:
    p50: float | None
    p99: float | None
    loops: int


@dataclass(frozen=True)
class RebalanceRecord:
    at: float
    moves: int


@dataclass(frozen=True)
class Capacity:
    """What one shard may hold: cameras, and their estimated cost (CPU seconds per second)."""

    cameras_per_shard: int
    max_load: float


@dataclass(frozen=True)
class FleetView:
    """The control plane at a glance: shards, load, recent moves and failovers (GET /v1/fleet)."""

    supervisor_started: float
    cameras: int
    shards: tuple[ShardView, ...]
    capacity: Capacity
    last_rebalance: RebalanceRecord | None
    loop_seconds: Annotated[LoopStats, Field(description="durations of the supervisor's recent loops")]
    moves: tuple[MoveRecord, ...]
    failovers: tuple[FailoverRecord, ...]
