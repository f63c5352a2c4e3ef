"""Camera passwords never leave the camera: a real fleet with credentialed URLs (a good one, a wrong password,
an unreachable host), then every log file of the Ray session, every API answer and the metrics are searched."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import ray

from matakota.cluster import bootstrap
from matakota.config import ApiConfig, parse_config
from tests.conftest import ADMIN, READ
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def wrong(secret) -> str:
    return "wrong-" + secret[::-1]


@pytest.fixture(scope="module")
def fleet(api_url, rtsp_sim, people_clip, store_config, secret, wrong):
    with rtsp_sim.RtspSimulator({"people-0": people_clip}, user="admin", password=secret) as sim:
        config = parse_config({"store": store_config, "fleet": {"shards": {"cameras_per_shard": 2}, "cameras": [
            {"id": "good", "site": "kota-lama", "url": sim.url("people-0"), "analytics": {"fps": 1.0}},
            {"id": "wrong-password", "site": "kota-lama", "url": sim.url("people-0", password=wrong)},
            {"id": "unreachable", "site": "kota-lama", "url": f"rtsp://admin:{secret}@127.0.0.1:9/x?token={secret}"},
        ]}})
        bootstrap.start_fleet(config, reset=True)
        started = time.monotonic()
        try:
            yield started
        finally:
            bootstrap.stop_fleet()


def cameras(api_url) -> dict[str, dict]:
    return {row["id"]: row for row in httpx.get(f"{api_url}/v1/cameras", headers=READ, timeout=30).json()}


def settled(api_url):
    rows = cameras(api_url)
    ok = rows["good"]["state"] == "online" and rows["wrong-password"]["reason"] and rows["unreachable"]["reason"]
    return rows if ok else None


def forms(*secrets: str) -> list[str]:
    return [form for s in secrets for form in {s, quote(s, safe=""), s[::-1] if s.startswith("wrong-") else s}]


def test_no_password_in_api_answers_metrics_or_logs(api_url, fleet, secret, wrong):
    rows = wait_for(lambda: settled(api_url), 90)
    assert rows, cameras(api_url)
    assert rows["good"]["url"].startswith("rtsp://admin:***@")
    assert rows["unreachable"]["state"] == "offline" and "token=***" in rows["unreachable"]["url"]
    needles = forms(secret, wrong)
    answers: dict[str, httpx.Response] = {}
    get = lambda path, **kw: httpx.get(api_url + path, headers=READ, timeout=30, **kw)  # noqa: E731
    for path in ("/v1/cameras", "/v1/fleet", "/v1/events", "/openapi.json", "/v1/cameras/unreachable/detections/latest",
                 "/v1/cameras/wrong-password/detections/latest", "/healthz"):
        answers[path] = get(path)
    bad_posts = {
        "ftp": {"id": "leak-1", "url": f"ftp://admin:{secret}@10.0.0.7/x"},
        "file": {"id": "leak-2", "url": f"file://admin:{secret}@nas/x.mp4"},  # the fleet refuses files
        "duplicate": {"id": "good", "url": f"rtsp://admin:{secret}@10.0.0.7/x"},
        "bad-id": {"id": "bad id!", "url": f"rtsp://admin:{secret}@10.0.0.7/x"},
        "bad-decode": {"id": "leak-3", "url": f"rtsp://admin:{secret}@10.0.0.7/x", "decode": {"mode": "bogus"}},
    }
    for name, body in bad_posts.items():
        answers[f"POST {name}"] = httpx.post(f"{api_url}/v1/cameras", json=body, headers=ADMIN, timeout=30)
        assert 400 <= answers[f"POST {name}"].status_code < 500, answers[f"POST {name}"].text
    answers["PATCH file"] = httpx.patch(f"{api_url}/v1/cameras/unreachable", json={"url": f"file://admin:{secret}@nas/x"},
                                        headers=ADMIN, timeout=30)
    answers["PATCH ftp"] = httpx.patch(f"{api_url}/v1/cameras/unreachable", json={"url": f"ftp://u:{secret}@h/x"},
                                       headers=ADMIN, timeout=30)
    answers["PATCH unknown"] = httpx.patch(f"{api_url}/v1/cameras/nope", json={"url": f"rtsp://u:{secret}@h/x"},
                                           headers=ADMIN, timeout=30)
    assert answers["POST duplicate"].status_code == 409 and answers["POST file"].status_code == 422
    assert answers["PATCH file"].status_code == 422 and answers["PATCH unknown"].status_code == 404
    for name, response in answers.items():
        for needle in needles:
            assert needle not in response.text and needle not in str(response.headers), (name, response.text)

    # metrics: Ray's exporter (what the PodMonitor scrapes) reports every ~10 s
    time.sleep(max(0.0, fleet + 15 - time.monotonic()))
    port = ray._private.worker._global_node.metrics_export_port
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30)
    assert metrics.status_code == 200 and "matakota_" in metrics.text
    for needle in needles:
        assert needle not in metrics.text

    # every log line of the session: drivers, workers, Serve controller/replicas/proxy, raylet, GCS
    logs = Path(ray._private.worker._global_node.get_session_dir_path()) / "logs"
    files = [p for p in logs.rglob("*") if p.is_file()]
    assert any("ServeReplica" in p.name or "worker" in p.name for p in files)
    leaks = [(p.name, needle) for p in files for needle in needles if needle.encode() in p.read_bytes()]
    assert not leaks, leaks


@pytest.mark.timeout(120)
def test_live_stream_clients_are_capped_per_replica_with_retry_after(api_url, fleet):
    CAP = ApiConfig().max_sse_clients  # the default: the API under test sets no other

    url = f"{api_url}/v1/events/stream"

    async def scenario():
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=CAP + 8)) as client:
            async with contextlib.AsyncExitStack() as stack:
                opened = await asyncio.gather(*(stack.enter_async_context(client.stream("GET", url, headers=READ))
                                                for _ in range(CAP)))
                assert all(r.status_code == 200 for r in opened)
                refused = await client.get(url, headers=READ)
                assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
                assert "too many live-stream clients" in refused.json()["detail"]
            # the streams are closed: their slots come back
            for _ in range(40):
                async with client.stream("GET", url, headers=READ) as again:
                    if again.status_code == 200:
                        return
                await asyncio.sleep(0.5)
            raise AssertionError("live-stream slots were not released after the clients left")

    asyncio.run(scenario())
