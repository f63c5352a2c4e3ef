"""A camera inside a shard (no Ray): what it hands out when it stops, moves or is reconfigured."""

from __future__ import annotations

import numpy as np

from matakota.actors.camera_runtime import CameraRuntime
from matakota.config import CameraConfig
from matakota.core.detections import Detections
from matakota.video.decode import VideoFrame
from matakota.video.reader import FrameSlot

T0 = 1_767_225_600.0  # minute-aligned
CAMERA = {"id": "cam-1", "site": "kota-lama", "url": "synthetic://64x36?fps=1&detect=0", "analytics": {
    "fps": 1.0, "zones": [{"name": "all", "polygon": [[0, 0], [64, 0], [64, 36], [0, 36]]}],
    "rules": [{"type": "crowding", "zone": "all", "max_occupancy": 0, "for_s": 0}]}}


def person() -> Detections:
    return Detections(np.array([[10, 5, 20, 30]], np.float32), np.array([0.9], np.float32), np.array([0]))


def feed(runtime: CameraRuntime, seconds) -> list:
    """Analyse one frame per second at T0 + s, a person standing in the zone throughout."""
    image = np.zeros((36, 64, 3), np.uint8)
    return [runtime.analyse(VideoFrame("cam-1", image, s, T0 + s, s, True), person(), T0 + s) for s in seconds]


def test_closing_hands_out_the_interval_in_progress_and_ends_open_incidents_only():
    runtime = CameraRuntime(CameraConfig.model_validate(CAMERA), allow_files=True, shard="shard-0")
    results = feed(runtime, range(150))  # two whole minutes and half of a third
    sent = [c for r in results for c in r.counts]  # the closed minutes, and checkpoints of the one in progress
    assert {c.start for c in sent if c.samples == 60} == {T0, T0 + 60}  # each went out with the frame that closed it
    assert max(c.samples for c in sent if c.start == T0 + 120) == 21  # checkpointed at 10 and 20 s into it
    runtime.reader.stop()
    events, counts = runtime.close("camera removed")
    assert {c.start for c in counts} == {T0 + 120} and len(counts) == 1  # not the history: only what is open
    assert counts[0].samples == 30 and counts[0].part == sent[0].part
    assert [(e.type.value, e.state.value, e.payload["closed"]) for e in events] == [
        ("crowding", "cleared", "camera removed")]


def test_a_standby_camera_decodes_but_analyses_nothing_until_it_adopts_analytics():
    config = CameraConfig.model_validate(CAMERA)
    source = CameraRuntime(config, allow_files=True, shard="shard-0")
    feed(source, range(30))
    source.reader.stop()
    target = CameraRuntime(config, allow_files=True, shard="shard-1", standby=True)
    assert target.take_due(T0 + 1e6, deadline_s=1e9) is None and target.analytics is None
    target.adopt(source.analytics)
    assert target.analytics is source.analytics  # the open visit and raised warning go on: none doubled
    results = feed(target, range(30, 61))
    assert not [e for r in results for e in r.events]  # still crowded: no second "raised"
    minute = [c for r in results for c in r.counts][-1]  # checkpoints at 30, 40 and 50 s, then the closed minute
    assert minute.samples == 60 and minute.visits == 1  # one person, one visit, across the move
    target.reader.stop()


def test_a_reconfigured_camera_keeps_its_analytics_only_while_its_rules_and_site_stay():
    config = CameraConfig.model_validate(CAMERA)
    analytics = CameraRuntime(config, allow_files=True, shard="shard-0").analytics
    decode_changed = CameraRuntime(CameraConfig.model_validate({**CAMERA, "decode": {"mode": "keyframes"}}), True, "s")
    rules_changed = CameraRuntime(CameraConfig.model_validate({**CAMERA, "analytics": {"fps": 2.0}}), True, "s")
    moved_site = CameraRuntime(CameraConfig.model_validate({**CAMERA, "site": "simpang-lima"}), True, "s")
    assert decode_changed.can_keep(analytics)
    assert not rules_changed.can_keep(analytics) and not moved_site.can_keep(analytics)
    for runtime in (decode_changed, rules_changed, moved_site):
        runtime.reader.stop()


def test_a_frame_due_while_the_detector_pipe_is_full_waits_in_its_slot():
    """Backpressure holds a due frame for a later tick instead of dropping it (a keyframe camera would lose a whole
    GOP); only one that waits past the deadline is dropped, and then it counts as backpressure, not late."""
    runtime = CameraRuntime(CameraConfig.model_validate(CAMERA), allow_files=True, shard="shard-0")
    runtime.reader.stop()
    slot = FrameSlot()
    runtime.reader = slot  # the reader's mailbox, filled by hand instead of its thread
    image = np.zeros((36, 64, 3), np.uint8)
    keyframe = VideoFrame("cam-1", image, 0.0, T0, 0, True)
    slot.put(keyframe)
    runtime.hold(T0)  # the pipe is full this tick
    assert runtime.take_due(T0 + 0.5, deadline_s=2.0) is keyframe  # still there on a later tick
    slot.put(VideoFrame("cam-1", image, 2.0, T0 + 2, 50, True))
    runtime.hold(T0 + 2)
    assert runtime.take_due(T0 + 4.5, deadline_s=2.0) is None  # waited too long
    slot.put(VideoFrame("cam-1", image, 4.0, T0 + 4, 100, True))
    assert runtime.take_due(T0 + 7, deadline_s=2.0) is None  # late with the pipe free: a tick came too late
    assert (runtime.counters["backpressure_drops"], runtime.counters["late_drops"]) == (1, 1)
