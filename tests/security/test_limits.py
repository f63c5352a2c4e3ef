"""Bodies, pages and schemes on the running service: refused with a clear 4xx before any work is done."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ADMIN, READ

pytestmark = pytest.mark.timeout(120)
JSON = {"Content-Type": "application/json", **ADMIN}


@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/cameras"), ("PATCH", "/v1/cameras/cam-1")])
def test_admin_bodies_over_the_limit_are_413(api_url, method, path):
    body = b'{"id": "cam-1", "url": "rtsp://h/x", "site": "' + b"a" * (2 << 20) + b'"}'
    declared = httpx.request(method, api_url + path, content=body, headers=JSON, timeout=30)
    assert declared.status_code == 413 and "limit" in declared.json()["detail"]

    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(40):
            yield b" " * (64 << 10)

    streamed = httpx.request(method, api_url + path, content=chunks(), headers=JSON, timeout=30)
    assert streamed.status_code == 413


def test_a_small_admin_body_still_reaches_the_route(api_url):
    response = httpx.post(f"{api_url}/v1/cameras", json={"id": "cam-1", "url": "rtsp://h/x"}, headers=ADMIN, timeout=30)
    assert response.status_code in (201, 409, 503)  # 503 while no fleet runs; never 413


@pytest.mark.parametrize("limit", [0, -1, 1001, 10**9, "x"])
def test_pages_are_capped(api_url, limit):
    response = httpx.get(f"{api_url}/v1/events", params={"limit": limit}, headers=READ, timeout=30)
    assert response.status_code in (400, 422), response.text


@pytest.mark.parametrize("scheme", ["ftp", "gopher", "ssh", "javascript", "synthetic"])
def test_cameras_with_a_forbidden_scheme_are_422_without_the_password(api_url, secret, scheme):
    url = f"{scheme}://admin:{secret}@10.0.0.7/stream"
    response = httpx.post(f"{api_url}/v1/cameras", json={"id": "cam-x", "url": url}, headers=ADMIN, timeout=30)
    assert response.status_code == 422, response.text
    assert secret not in response.text
    assert "admin:***@10.0.0.7" in response.text or "disabled" in response.text


@pytest.mark.parametrize("body", [b"{not json", b'{"id": 5, "url": ["x"]}', b"[]", b'"x"', b"\xff\xfe",
                                  b'{"id": "c", "url": "rtsp://h/x", "analytics": {"fps": NaN}}',
                                  b'{"id": "c", "url": "rtsp://h/x", "analytics": {"gauge": {"region": [Infinity, 0, '
                                  b'1, 1], "calibration": [[0, 1], [1, 0]], "levels": {"a": 1}}}}'])
def test_malformed_camera_bodies_are_422(api_url, body):
    response = httpx.post(f"{api_url}/v1/cameras", content=body, headers=JSON, timeout=30)
    assert response.status_code == 422 and "detail" in response.json()
