"""Exports a shard's per-camera and per-shard figures as catalogued Prometheus metrics (core/metrics.py).

Counters are cumulative in Ray, so each export adds the growth since the previous one.
"""

from __future__ import annotations

from collections import defaultdict

from matakota.core.events import Event, EventState, EventType
from matakota.core.messages import CameraState, CameraStatus, OutboxStats
from matakota.core.metrics import metric

FRAME_COUNTERS = {  # CameraStatus field → (metric, extra tags), summed per site
    "frames_decoded": ("matakota_camera_frames_decoded_total", {}),
    "frames_analysed": ("matakota_camera_frames_analysed_total", {}),
    "reader_drops": ("matakota_camera_frames_dropped_total", {"reason": "overwritten"}),
    "late_drops": ("matakota_camera_frames_dropped_total", {"reason": "late"}),
    "backpressure_drops": ("matakota_camera_frames_dropped_total", {"reason": "backpressure"}),
}
OPEN_STATES = (EventState.STARTED, EventState.RAISED)


class ShardMetrics:
    def __init__(self, shard_id: str) -> None:
        self.shard_id = shard_id
        self._exported: dict[tuple[str, str], float] = defaultdict(float)
        self._dropped: dict[str, int] = {}  # outbox drops by kind, as exported
        self._plates: dict[str, float] = {}  # plate reading totals, as exported
        self._active: dict[str, Event] = {}  # open incidents by incident id
        self._alarm_keys: set[tuple[str, str]] = set()
        # last values of event-driven gauges, recorded again at every export (Ray drops stale gauges)
        self._flood_levels: dict[tuple[str, str, str], int] = {}
        self._water_levels: dict[tuple[str, str], float] = {}
        self._flood_rising: dict[tuple[str, str], int] = {}

    def export_plates(self, reads: int, plates: int, errors: int, cpu_s: float) -> None:
        """The shard's plate reading totals (actors/plate_reading.py, summed over its cameras): exports the growth."""
        shard = {"shard": self.shard_id}
        none = reads - plates - errors
        for key, total, name, tags in (("reads_plate", plates, "matakota_plate_reads_total", {"result": "plate"}),
                                       ("reads_none", none, "matakota_plate_reads_total", {"result": "none"}),
                                       ("errors", errors, "matakota_plate_read_errors_total", {}),
                                       ("cpu_s", cpu_s, "matakota_plate_read_cpu_seconds_total", {})):
            grown = total - self._plates.get(key, 0)
            if grown > 0:
                metric(name).inc(grown, tags={**shard, **tags})
            self._plates[key] = max(total, self._plates.get(key, 0))

    def export_unsigned(self, total: int) -> None:
        """Parking evidence packages this shard made without an evidence key (they fail verification)."""
        grown = total - self._plates.get("unsigned", 0)
        if grown > 0:
            metric("matakota_evidence_unsigned_total").inc(grown, tags={"shard": self.shard_id})
        self._plates["unsigned"] = max(total, self._plates.get("unsigned", 0))

    def observe_latency(self, seconds: float) -> None:
        metric("matakota_pipeline_latency_seconds").observe(seconds, tags={"shard": self.shard_id})

    def observe_tick(self, seconds: float) -> None:
        metric("matakota_shard_tick_seconds").observe(seconds, tags={"shard": self.shard_id})

    def observe_events(self, events) -> None:
        for event in events:
            opened = event.state in OPEN_STATES
            if opened:
                self._active[event.incident_id] = event
            else:
                self._active.pop(event.incident_id, None)
            if event.type is EventType.FLOOD_LEVEL:
                self._flood_levels[(event.camera, event.site, event.key)] = 1 if opened else 0
            if event.type is EventType.FLOOD_RISE:
                self._flood_rising[(event.camera, event.site)] = 1 if opened else 0

    def observe_water_level(self, camera: str, site: str, level_cm: float) -> None:
        self._water_levels[(camera, site)] = level_cm

    def export(self, cameras: tuple[CameraStatus, ...], inflight: int, outbox: OutboxStats) -> None:
        shard = {"shard": self.shard_id}
        for kind, dropped in outbox.dropped_by_kind.items():  # data lost: the EventSink was away too long
            grown = dropped - self._dropped.get(kind, 0)
            if grown > 0:
                self._dropped[kind] = dropped
                metric("matakota_records_dropped_total").inc(grown, tags={"kind": kind, "reason": "outbox_full"})
        metric("matakota_shard_cameras").set(len(cameras), tags=shard)
        metric("matakota_shard_inflight_batches").set(inflight, tags=shard)
        growth: dict[tuple[str, str], float] = defaultdict(float)  # (site, stats field) → frames since last export
        for camera in cameras:
            tags = {"camera": camera.id, "site": camera.site, **shard}
            metric("matakota_camera_up").set(1 if camera.state is CameraState.ONLINE else 0, tags=tags)
            for field in (*FRAME_COUNTERS, "reconnects"):
                value = getattr(camera, field)
                grown = value - self._exported[(camera.id, field)]
                if grown > 0:
                    self._exported[(camera.id, field)] = value
                    if field == "reconnects":
                        metric("matakota_camera_reconnects_total").inc(grown, tags=tags)
                    else:
                        growth[(camera.site, field)] += grown
        for (site, field), grown in growth.items():
            name, extra = FRAME_COUNTERS[field]
            metric(name).inc(grown, tags={"site": site, **shard, **extra})
        active: dict[tuple[str, str], int] = defaultdict(int)
        for event in self._active.values():
            active[(event.type.value, event.site)] += 1
        for (camera, site, level), raised in self._flood_levels.items():
            metric("matakota_flood_alarm_level").set(raised, tags={"camera": camera, "site": site, "level": level})
        for (camera, site), level_cm in self._water_levels.items():
            metric("matakota_water_level_cm").set(level_cm, tags={"camera": camera, "site": site})
        for (camera, site), rising in self._flood_rising.items():
            metric("matakota_flood_rising").set(rising, tags={"camera": camera, "site": site})
        self._alarm_keys |= set(active)
        for kind, site in self._alarm_keys:  # cleared alarms go back to 0
            metric("matakota_alarms_active").set(active.get((kind, site), 0), tags={"type": kind, "site": site})

    def forget(self, camera_id: str) -> None:
        """A camera gone from this shard: its series age out here, its open incidents no longer count here."""
        for key in [k for k in self._exported if k[0] == camera_id]:
            del self._exported[key]
        for gauges in (self._flood_levels, self._water_levels, self._flood_rising):
            for key in [k for k in gauges if k[0] == camera_id]:
                del gauges[key]
        for incident in [i for i, event in self._active.items() if event.camera == camera_id]:
            del self._active[incident]
