"""The Detector deployment through its DeploymentHandle: micro-batches in, per-frame detections out."""

from __future__ import annotations

import asyncio

import pytest
from ray import serve

from matakota.models.frames import FrameBatch
from tests.conftest import PERSON_FRAMES

pytestmark = pytest.mark.timeout(240)


def test_micro_batches_from_many_producers_come_back_in_order(api_url, clip_frames):
    handle = serve.get_deployment_handle("Detector", app_name="matakota")
    frames = list(clip_frames.values())
    micro_batches = [FrameBatch.from_images(frames[i : i + 3]) for i in range(0, 12, 3)]
    # a micro-batch larger than max_batch_size (8) is split by the deployment, not refused
    micro_batches.append(FrameBatch.from_images(frames[:11]))

    async def send_all():
        return await asyncio.gather(*(handle.detect.remote(b) for b in micro_batches))

    results = asyncio.run(send_all())
    assert [len(r) for r in results] == [len(b) for b in micro_batches]
    direct = handle.detect.remote(FrameBatch.from_images(frames[:3])).result()
    for served, expected in zip(results[0], direct):
        assert served.to_json() == expected.to_json()


def test_batch_size_is_tunable_through_user_config(api_url, clip_frames):
    handle = serve.get_deployment_handle("Detector", app_name="matakota")
    image = clip_frames[PERSON_FRAMES[0]]
    [detections] = handle.detect.remote(FrameBatch.from_images([image])).result()
    assert detections.to_json()[0]["label"] == "person"
    health = handle.health.remote().result()
    assert health["provider"].endswith("ExecutionProvider")
