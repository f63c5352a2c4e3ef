"""What the HTTP API answers that no actor sends: errors, detection results, health, stored counts, events and
water levels.
(Camera statuses, latest detections and the fleet view are the actors' own messages: core/messages.py.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from matakota.core.calendar import label
from matakota.core.messages import Detection

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


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(description="where in the request", examples=[["body", "analytics", "fps"]])
    msg: str
    type: str


class InputProblem(BaseModel):
    """422: a message, or one entry per bad field (the input itself is never echoed: URLs carry passwords)."""

    detail: str | list[FieldProblem]


class DetectResponse(BaseModel):
    width: int
    height: int
    model: str
    detections: list[Detection]


class Health(BaseModel):
    status: str
    version: str
    model: str
    provider: str = Field(description="ONNX Runtime execution provider in use")
    batches: dict[int, int] = Field(description="inference batches run so far, by number of frames")


class Figures(BaseModel):
    start: float = Field(description="bucket start, epoch seconds (a local hour, day, week or month, or a minute)",
                         examples=[T0])
    end: float = Field(examples=[T0 + 3600])
    period: str = Field(description="the bucket as people write it, in local time", examples=["2026-11-05T14"])
    samples: int = Field(description="analysed frames", examples=[3600])
    occupancy_max: int = Field(description="the most people at once", examples=[37])
    peak_at: float | None = Field(None, description="when occupancy first reached occupancy_max, epoch seconds")
    occupancy_mean: float = Field(description="samples-weighted mean occupancy", examples=[12.4])
    visits: int = Field(examples=[812])
    in_count: int = Field(examples=[0])
    out_count: int = Field(examples=[0])
    dwell_count: int = Field(description="stays that ended in the bucket", examples=[790])
    dwell_mean_s: float | None = Field(None, description="their mean length, seconds", examples=[412.5])
    dwell_median_s: float | None = Field(None, description="their median length, seconds (estimated from bins of "
                                                            "10 s … 4 h)", examples=[300.0])

    @classmethod
    def of(cls, row, bucket: str, tz) -> dict:
        """A store CountRow's fields, its dwell, and its bucket's name in `tz`."""
        period = (datetime.fromtimestamp(row.start, tz).strftime("%Y-%m-%dT%H:%M") if bucket == "1m"
                  else label(row.start, bucket, tz))
        return {**{k: v for k, v in vars(row).items() if k in cls.model_fields}, "peak_at": row.peak_ts,
                "dwell_mean_s": row.dwell_mean_s, "dwell_median_s": row.dwell_median_s, "period": period}


class CountBucket(Figures):
    camera: str = Field(examples=["cam-0042"])
    site: str = Field(examples=["simpang-lima"])
    kind: str = Field(description="zone or line", examples=["zone"])
    name: str = Field(examples=["plaza"])


class CountsResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    bucket: str = Field(examples=["hour"])
    timezone: str = Field(description="the IANA zone of every bucket", examples=["Asia/Jakarta"])
    from_: float = Field(alias="from", description="start of the first whole bucket", examples=[T0])
    to: float = Field(description="end of the last whole bucket", examples=[T0 + 86400])
    cameras: list[str] | None = Field(None, description="the cameras asked for (null: every one reached)")
    sites: list[str] | None = Field(None, examples=[["simpang-lima"]])
    items: list[CountBucket]


class SiteBucket(Figures):
    site: str = Field(description="the site, or * for the sites added up", examples=["simpang-lima"])
    peak_site: str | None = Field(None, description="sites added up: the site of the highest peak")


class VisitsResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    bucket: str = Field(examples=["day"])
    timezone: str = Field(examples=["Asia/Jakarta"])
    from_: float = Field(alias="from", examples=[T0])
    to: float = Field(examples=[T0 + 86400])
    sites: list[str] | None = Field(None, description="the sites asked for (null: every one reached)")
    items: list[SiteBucket] = Field(description="per site and bucket by the sites' counting plans (visits from "
                                                "entrances, occupancy and dwell from area zones), or per bucket "
                                                "added up across sites (per_site=false)")


class LevelReadingOut(BaseModel):
    t: float = Field(description="when the gauge was read, epoch seconds", examples=[T0 + 30])
    level_cm: float | None = Field(description="water level; null when the reading is uncertain", examples=[84.5])
    confidence: float = Field(description="0–1: how clearly the water line stood out", examples=[0.91])
    status: str = Field(description="ok, below_range (the level is the gauge's bottom) or uncertain (no level)", examples=["ok"])


class LevelBucketOut(BaseModel):
    start: float = Field(description="bucket start, epoch seconds (UTC-aligned)", examples=[T0])
    end: float = Field(examples=[T0 + 300])
    readings: int = Field(description="readings in the bucket", examples=[10])
    uncertain: int = Field(description="of which uncertain (no level)", examples=[1])
    min_cm: float | None = Field(description="over the readings with a level; null if none has one", examples=[82.0])
    mean_cm: float | None = Field(examples=[84.1])
    max_cm: float | None = Field(examples=[86.5])


class LevelsResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    camera: str = Field(examples=["gauge-banjir-kanal"])
    site: str | None = Field(None, description="null when neither the store nor the fleet knows it",
                             examples=["banjir-kanal-barat"])
    from_: float = Field(alias="from", examples=[T0])
    to: float = Field(examples=[T0 + 3600])
    bucket: str | None = Field(description="null: `readings` are the raw readings; else `buckets` are per bucket",
                               examples=[None])
    alarm_levels: dict[str, float] | None = Field(
        None, description="the camera's alarm levels (name → cm) from the fleet's config; null when the fleet does "
                          "not know the camera", examples=[{"waspada": 50.0, "siaga": 100.0, "awas": 150.0}])
    readings: list[LevelReadingOut] = Field(default_factory=list)
    buckets: list[LevelBucketOut] = Field(default_factory=list)


class AlarmAction(BaseModel):
    by: str = Field(description="the name of the token that did it")
    at: float = Field(description="epoch seconds")
    comment: str = ""


class HandleIn(BaseModel):
    comment: str = Field("", max_length=500, description="what the operator saw or did", examples=["petugas dikirim"])


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
    clip_url: str | None = Field(None, description="MP4 around the alarm's moment (operator/enforcement tokens)")
    acknowledged: AlarmAction | None = Field(None, description="an operator acknowledged the alarm (its incident)")
    resolved: AlarmAction | None = Field(None, description="an operator resolved it")

    @classmethod
    def of(cls, event: dict) -> EventOut:
        """A stored (or live) event with links to its evidence images."""
        base = f"/v1/events/{event['id']}/snapshot"
        return cls(**{k: v for k, v in event.items() if k in cls.model_fields},
                   snapshot_url=base if event.get("snapshot") else None,
                   crop_url=f"{base}?crop=true" if event.get("snapshot_crop") else None,
                   clip_url=f"/v1/events/{event['id']}/clip.mp4" if event.get("clip") else None)


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page; null on the last",
                                    examples=["WzE3NjcyMjkyMDAuMCwgIjNmMWMyYTliOGQ3ZTZmNWE0YjNjIl0"])


def problems(*codes: int) -> dict:
    """OpenAPI `responses` for these error statuses (422 lists fields)."""
    return {code: {"model": InputProblem if code == 422 else Problem} for code in codes}


class AuditEntryOut(BaseModel):
    """One audit log entry: who (a token's name, never the token), what, which target, when, from where."""

    seq: int = Field(description="1, 2, 3, … without gaps", examples=[42])
    t: float = Field(description="epoch seconds", examples=[T0 + 3600])
    actor: str = Field(description="the token's name", examples=["dishub-ops"])
    action: str = Field(examples=["PATCH /v1/cameras/{camera_id}"])
    target: str = Field(description="what it acted on (empty when nothing in particular)", examples=["kota-lama-07"])
    detail: dict[str, Any] = Field(default_factory=dict, examples=[{"query": {}}])
    remote: str | None = Field(None, description="the client's address", examples=["10.42.0.17"])
    prev_hash: str = Field(description="the previous entry's hash (64 zeros for seq 1)")
    hash: str = Field(description="sha256 of prev_hash + canonical JSON [seq, t, actor, action, target, detail, "
                                  "remote]")


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page; null on the last")
