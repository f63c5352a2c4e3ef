"""Overload on loopback: /v1/detect far beyond a tight Detector's queue answers 200 or 503 + Retry-After,
recovers at once, and the Detector replica's memory stays bounded."""

from __future__ import annotations

import asyncio
import collections

import cv2
import httpx
import psutil
import pytest
from ray import serve

from matakota.config import parse_config
from matakota.serve.app import build_app
from tests.conftest import PERSON_FRAMES, READ

APP = "sec-overload"
BURST = 200


def replica_rss(deployment: str) -> int:
    title = f"ServeReplica:{APP}:{deployment}"
    found = [p for p in psutil.process_iter(["cmdline"]) if title in " ".join(p.info["cmdline"] or [])]
    assert len(found) == 1, f"{title}: {len(found)} processes"
    return found[0].memory_info().rss


async def burst(url: str, body: bytes, n: int) -> list[httpx.Response]:
    headers = {"Content-Type": "image/jpeg", **READ}
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=n)) as client:
        return await asyncio.gather(*(client.post(url, content=body, headers=headers) for _ in range(n)))


@pytest.fixture(scope="module")
def tight_app(api_url, store_config, model_path):
    config = parse_config({
        "api": {"max_body_bytes": 1 << 20},
        "detector": {"model": str(model_path), "max_batch_size": 1, "max_ongoing_requests": 1,
                     "max_queued_requests": 2, "num_cpus": 0, "intra_op_threads": 1},
        "store": store_config,
    })
    serve.run(build_app(config), name=APP, route_prefix=f"/{APP}", blocking=False,
              logging_config={"enable_access_log": False})
    yield f"{api_url}/{APP}/v1/detect"
    serve.delete(APP)


@pytest.mark.timeout(180)
def test_detect_beyond_capacity_is_200_or_503_with_retry_after_and_recovers(tight_app, clip_frames):
    body = cv2.imencode(".jpg", clip_frames[PERSON_FRAMES[0]])[1].tobytes()
    assert httpx.post(tight_app, content=body, headers={"Content-Type": "image/jpeg", **READ}, timeout=60).status_code == 200
    asyncio.run(burst(tight_app, body, 20))  # warm-up: allocator pools, thread pools
    before = replica_rss("Detector")

    for _ in range(2):
        responses = asyncio.run(burst(tight_app, body, BURST))
        statuses = collections.Counter(r.status_code for r in responses)
        assert set(statuses) <= {200, 503}, statuses
        assert statuses[200] >= 1 and statuses[503] >= BURST // 2, statuses  # the queue of 2 really refused
        for response in responses:
            if response.status_code == 503:
                assert int(response.headers["Retry-After"]) >= 1
                assert "overloaded" in response.json()["detail"]

    after_burst = httpx.post(tight_app, content=body, headers={"Content-Type": "image/jpeg", **READ}, timeout=60)
    assert after_burst.status_code == 200 and after_burst.json()["detections"]  # recovered at once
    grown = replica_rss("Detector") - before
    assert grown < 150 << 20, f"Detector replica grew {grown >> 20} MiB over {2 * BURST} overload requests"
