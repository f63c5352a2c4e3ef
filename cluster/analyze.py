"""`matakota analyze`: one camera's analytics on a recorded video, exactly as the live fleet runs them.

Frames are sampled at the camera's analysis rate (`analytics.fps`) by stream timestamp, and that timestamp
is the analytics clock: every time in the result (visits, events) is seconds from the start of the recording.
Consequence: rules with local hours (intrusion) see the recording as starting at 1970-01-01 00:00 UTC.
"""

from __future__ import annotations

import logging
from pathlib import Path

from matakota.analytics.camera import CameraAnalytics
from matakota.analytics.evidence import event_evidence
from matakota.config import CameraAnalyticsConfig
from matakota.core.events import Event
from matakota.video.media import MediaError, MediaFrame, batched, read_frames

log = logging.getLogger(__name__)

TIME_BASE = "seconds from the start of the recording (stream timestamps)"
SITE = "recording"
BATCH_FRAMES = 8  # frames per detector call (batching pays on CPU too)


def _write_evidence(event: Event, frame: MediaFrame, camera: str, directory: Path) -> dict[str, str]:
    full, crop, _ = event_evidence(frame.image, event)  # the user's own video, on their own disk: unblurred
    stem = f"{camera}-{event.type.value}-{event.state.value}-{frame.pts_s:.1f}s-{event.id[:8]}"
    paths = {"full": directory / f"{stem}.jpg", "crop": directory / f"{stem}-crop.jpg"}
    paths["full"].write_bytes(full)
    paths["crop"].write_bytes(crop)
    return {**{kind: str(p) for kind, p in paths.items()}, "t": round(frame.pts_s, 3)}  # t: the evidence frame


def analyze_video(path: Path | str, camera_config: CameraAnalyticsConfig, detector,
                  snapshot_dir: Path | str | None = None, camera_id: str | None = None) -> dict:
    """Run the camera's analytics over a video file; returns `CameraAnalytics.summary()` plus run facts, and
    `levels`: every gauge reading (`GaugeReading.to_json()`, t from the start of the recording; empty without a
    gauge).

    Events that carry an evidence box get a full-frame and a crop JPEG in `snapshot_dir` (if given);
    their paths are in the event's `snapshot` field. Raises `MediaError` for a missing or unreadable video.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: no such video file")
    camera = camera_id or path.stem
    if snapshot_dir is not None:
        snapshot_dir = Path(snapshot_dir)
        snapshot_dir.mkdir(parents=True, exist_ok=True)
    analytics, snapshots, levels, frames, last_t = None, {}, [], 0, 0.0
    for chunk in batched(read_frames(path, camera_config.fps), BATCH_FRAMES):
        if analytics is None:
            analytics = _start(camera, camera_config, chunk[0])
        for frame, detections in zip(chunk, detector.detect([f.image for f in chunk])):
            result = analytics.update(detections, frame.pts_s, frame.image)
            if result.gauge is not None:
                levels.append(result.gauge.to_json())
            for event in result.events:
                if snapshot_dir is not None and event.box is not None:
                    snapshots[event.id] = _write_evidence(event, frame, camera, snapshot_dir)
            frames, last_t = frames + 1, frame.pts_s
    if analytics is None:
        raise MediaError(f"{path}: no video frames")
    analytics.flush()  # the recording ended: visits still open end at their last sighting
    summary = analytics.summary()
    for event in summary["events"]:
        if event["id"] in snapshots:
            event["snapshot"] = snapshots[event["id"]]
    return {**summary, "levels": levels, "source": str(path), "time_base": TIME_BASE, "fps": camera_config.fps,
            "frames": frames, "duration_s": round(last_t, 3)}


def _start(camera: str, config: CameraAnalyticsConfig, first: MediaFrame) -> CameraAnalytics:
    height, width = first.image.shape[:2]
    if config.frame_size is not None and tuple(config.frame_size) != (width, height):
        log.warning("camera %s: config frame_size %s but the video is %dx%d; pixel coordinates are not rescaled",
                    camera, list(config.frame_size), width, height)
    return CameraAnalytics(camera, SITE, config, frame_size=(width, height))


def format_report(result: dict) -> str:
    """The result for people: counts per zone and line, each visit, each event."""
    lines = [f"camera {result['camera']}: {result['source']}",
             f"  {result['frames']} frames analysed at {result['fps']:g} fps over {result['duration_s']:.1f} s;"
             f" times are {result['time_base']}"]
    for name, zone in result["zones"].items():
        lines.append(f"zone {name}: {zone['visits']} visits, max occupancy {zone['max_occupancy']}")
        for n, stay in enumerate(zone["stays"], 1):
            lines.append(f"  visit {n}: track {stay['track']}, {stay['start']:.1f}–{stay['end']:.1f} s,"
                         f" dwell {stay['dwell_s']:.1f} s")
    for name, line in result["lines"].items():
        lines.append(f"line {name}: in {line['in']}, out {line['out']}")
    levels = result.get("levels") or []
    if levels:
        known = [r["level_cm"] for r in levels if r["level_cm"] is not None and r["status"] != "uncertain"]
        span = f", {min(known):g}–{max(known):g} cm" if known else ""
        lines.append(f"gauge: {len(levels)} readings{span} ({len(levels) - len(known)} without a level)")
    lines.append(f"events: {len(result['events'])}" if result["events"] else "events: none")
    for event in result["events"]:
        end = f"–{event['end']:.1f}" if event["end"] is not None else ""
        snapshot = f"  snapshot {event['snapshot']['full']}" if "snapshot" in event else ""
        lines.append(f"  {event['start']:.1f}{end} s  {event['type']} {event['state']} ({event['key']}){snapshot}")
    return "\n".join(lines)
