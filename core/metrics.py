"""The metrics catalogue: every metric matakota exports, defined and documented in one place.

Metrics are recorded with `ray.util.metrics`, which Ray's per-node exporter serves on the `metrics` port
(8080 in KubeRay pods) with the prefix `ray_`: `matakota_camera_up` is scraped as `ray_matakota_camera_up`.
Code never names a metric that is not here (`metric()` raises), and `docs/metrics.md` is generated from this
table (`matakota metrics --markdown`; a test keeps them equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

EXPORT_PREFIX = "ray_"

SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
FRAMES_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: str  # counter | gauge | histogram
    labels: tuple[str, ...]
    unit: str
    help: str
    buckets: tuple[float, ...] = ()

    @property
    def exported(self) -> str:
        return EXPORT_PREFIX + self.name


def _m(name, kind, labels, unit, help, buckets=()) -> MetricSpec:
    return MetricSpec(name, kind, tuple(labels), unit, help, tuple(buckets))


CATALOGUE: tuple[MetricSpec, ...] = (
    # cameras (exported by the shard that owns them). Per camera only what names a camera: whether it is up and
    # its (rare) reconnects; frame counters are per site and shard, so 10,417 cameras stay ~15k series, not ~75k.
    _m("matakota_camera_up", "gauge", ["camera", "site", "shard"], "1", "1 while the camera is online, else 0."),
    _m("matakota_camera_frames_decoded_total", "counter", ["site", "shard"], "frames",
       "Frames decoded (per-camera rates: GET /v1/cameras)."),
    _m("matakota_camera_frames_analysed_total", "counter", ["site", "shard"], "frames",
       "Frames run through the detector and analytics."),
    _m("matakota_camera_frames_dropped_total", "counter", ["site", "shard", "reason"], "frames",
       "Frames not analysed: overwritten (newest wins), late (past the deadline) or backpressure (waited past the "
       "deadline while the Detector pipe was full)."),
    _m("matakota_camera_reconnects_total", "counter", ["camera", "site", "shard"], "reconnects",
       "Reconnects after a stall, an error or the end of a stream (a series appears at a camera's first)."),
    # shards
    _m("matakota_shard_cameras", "gauge", ["shard"], "cameras", "Cameras owned by the shard."),
    _m("matakota_shard_inflight_batches", "gauge", ["shard"], "batches", "Detector requests in flight."),
    _m("matakota_shard_tick_seconds", "histogram", ["shard"], "seconds", "Time spent in one shard tick.",
       SECONDS_BUCKETS),
    _m("matakota_pipeline_latency_seconds", "histogram", ["shard"], "seconds",
       "Frame decoded -> detections and analytics done.", SECONDS_BUCKETS),
    # detector
    _m("matakota_detector_batch_frames", "histogram", [], "frames", "Frames per inference batch.", FRAMES_BUCKETS),
    _m("matakota_detector_inference_seconds", "histogram", [], "seconds", "Wall time of one batched inference.",
       SECONDS_BUCKETS),
    _m("matakota_detector_frames_total", "counter", [], "frames", "Frames run through the detector."),
    _m("matakota_detector_provider_info", "gauge", ["provider"], "1",
       "1 for the ONNX Runtime execution provider in use."),
    # supervisor
    _m("matakota_fleet_cameras", "gauge", ["site", "owner", "state"], "cameras", "Cameras by site, owner and state."),
    _m("matakota_fleet_shards", "gauge", [], "shards", "Shard actors alive."),
    _m("matakota_supervisor_heartbeat_timestamp_seconds", "gauge", [], "seconds",
       "Unix time of the supervisor's last loop (alert when it stops advancing)."),
    _m("matakota_supervisor_loop_seconds", "histogram", [], "seconds", "Duration of one supervisor loop.",
       SECONDS_BUCKETS),
    _m("matakota_supervisor_moves_total", "counter", ["reason"], "cameras",
       "Cameras moved between shards (failover, rebalance, added, removed)."),
    _m("matakota_supervisor_failover_seconds", "histogram", [], "seconds",
       "Shard death -> all its cameras online again.", SECONDS_BUCKETS),
    _m("matakota_shard_restarts_total", "counter", ["shard"], "restarts", "Shards replaced after dying."),
    # plates (ANPR): read a few times per vehicle about to become a parking violation, never per frame
    _m("matakota_plate_reads_total", "counter", ["shard", "result"], "reads",
       "Plate OCR reads of parked vehicles: result plate (a plate-shaped reading) or none."),
    _m("matakota_plate_read_errors_total", "counter", ["shard"], "reads",
       "Plate OCR reads that raised (counted as unread; the first is logged with its traceback)."),
    _m("matakota_plate_read_cpu_seconds_total", "counter", ["shard"], "seconds",
       "CPU time spent reading plates (loadtest/bench_anpr.py: ~0.1 s per read)."),
    _m("matakota_evidence_unsigned_total", "counter", ["shard"], "packages",
       "Parking evidence packages made without an evidence key: they fail `matakota evidence verify` (set "
       "MATAKOTA_EVIDENCE_KEY or fleet.shards.evidence in every shard's environment)."),
    # data out
    _m("matakota_store_writes_total", "counter", ["kind"], "rows",
       "Rows written to the store (events, counts, levels)."),
    _m("matakota_store_write_errors_total", "counter", [], "errors", "Failed store write batches."),
    _m("matakota_records_dropped_total", "counter", ["kind", "reason"], "records",
       "Counts, events and levels lost: outbox_full (a shard's outbox overflowed while the EventSink was away) or "
       "rejected (malformed, refused by the EventSink)."),
    _m("matakota_output_deliveries_total", "counter", ["output", "result"], "messages",
       "MQTT/webhook deliveries by result (delivered, retried, dropped, dead_letter)."),
    # city
    _m("matakota_water_level_cm", "gauge", ["camera", "site"], "centimetres", "Water level read from a gauge camera."),
    _m("matakota_alarms_active", "gauge", ["type", "site"], "alarms", "Alarms raised and not yet cleared."),
    _m("matakota_flood_alarm_level", "gauge", ["camera", "site", "level"], "1",
       "1 while the gauge camera's flood alarm at `level` (waspada, siaga, awas; thresholds per camera in config) "
       "is raised, 0 once cleared with hysteresis."),
    _m("matakota_flood_rising", "gauge", ["camera", "site"], "1",
       "1 while the gauge camera's water rises faster than its gauge.rise.cm_per_min, 0 once cleared with hysteresis."),
)

BY_NAME = {spec.name: spec for spec in CATALOGUE}


@cache
def metric(name: str):
    """The `ray.util.metrics` object for a catalogued metric (one per process)."""
    from ray.util import metrics

    spec = BY_NAME[name]
    if spec.kind == "counter":
        return metrics.Counter(spec.name, spec.help, tag_keys=spec.labels)
    if spec.kind == "gauge":
        return metrics.Gauge(spec.name, spec.help, tag_keys=spec.labels)
    return metrics.Histogram(spec.name, spec.help, boundaries=list(spec.buckets), tag_keys=spec.labels)


def markdown() -> str:
    """The catalogue as a Markdown table (docs/metrics.md)."""
    lines = [
        "# Metrics",
        "",
        "Generated from `core/metrics.py` by `matakota metrics --markdown`; do not edit by hand.",
        f"Scraped names carry Ray's `{EXPORT_PREFIX}` prefix (histograms add `_bucket`, `_sum`, `_count`).",
        "",
        "| metric (as scraped) | type | labels | unit | meaning |",
        "|---|---|---|---|---|",
    ]
    for spec in CATALOGUE:
        lines.append(f"| `{spec.exported}` | {spec.kind} | {', '.join(spec.labels) or '-'} | {spec.unit} | {spec.help} |")
    return "\n".join(lines) + "\n"
