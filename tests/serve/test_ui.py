"""The dashboard's routes: the page, its assets (types, caching), no path traversal, nothing from outside."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from matakota.config import ApiConfig
from matakota.serve.ui import STATIC, router


@pytest.fixture
def client():
    app = FastAPI()
    app.include_router(router)
    with TestClient(app, follow_redirects=False) as client:
        yield client


def test_page_is_html_without_auth_and_locked_down(client):
    response = client.get("/ui")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "img-src 'self' blob:" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assets = re.findall(r'(?:src|href)="(ui/static/[^"]+)"', response.text)
    assert sorted(a.split("?")[0] for a in assets) == ["ui/static/app.css", "ui/static/app.js"]
    for asset in assets:  # every reference is versioned by content and resolves
        assert re.search(r"\?v=[0-9a-f]{16}$", asset)
        assert client.get("/" + asset).status_code == 200


@pytest.mark.parametrize("name, media_type", [("app.js", "text/javascript; charset=utf-8"),
                                              ("app.css", "text/css; charset=utf-8")])
def test_assets_have_types_and_cache_headers(client, name, media_type):
    response = client.get(f"/ui/static/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["cache-control"] == "public, max-age=86400"
    assert response.content == (STATIC / name).read_bytes()
    again = client.get(f"/ui/static/{name}", headers={"If-None-Match": response.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")


@pytest.mark.parametrize("path", [
    "/ui/static/..%2Fui.py", "/ui/static/%2e%2e%2f%2e%2e%2fpyproject.toml", "/ui/static/..%2F..%2F..%2Fetc%2Fpasswd",
    "/ui/static/../ui.py", "/ui/static/index.html", "/ui/static/ui.py", "/ui/static/app.js%00.css",
    "/ui/static/.app.js", "/ui/static/", "/ui/static/APP.JS", "/ui/static/%2Fetc%2Fpasswd",
])
def test_anything_but_a_listed_asset_is_404(client, path):
    response = client.get(path)
    assert response.status_code == 404, path
    assert "root:" not in response.text and "import" not in response.text


def test_trailing_slash_redirects_relatively(client):
    response = client.get("/ui/")
    assert response.status_code == 308 and response.headers["location"] == "../ui"


def test_nothing_is_loaded_from_outside():
    """Air-gapped city network: no CDN, no external font or script, no inline script (the CSP forbids it)."""
    for path in STATIC.iterdir():
        text = path.read_text()
        urls = set(re.findall(r"https?://[^\s\"'`)]+", text)) - {"http://www.w3.org/2000/svg"}
        assert not urls, (path.name, urls)
    page = (STATIC / "index.html").read_text()
    assert "<script>" not in page  # scripts only from files
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handlers


def test_the_wall_page_loads_its_assets_and_a_tile_server_only_when_configured(client):
    response = client.get("/ui/wall")
    assert response.status_code == 200 and 'data-tiles=""' in response.text
    assert "img-src 'self' blob: data:" in response.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="\.\./(ui/static/[^"]+)"', response.text)
    assert sorted(a.split("?")[0] for a in assets) == ["ui/static/app.css", "ui/static/wall.css", "ui/static/wall.js"]
    assert all(client.get("/" + asset).status_code == 200 for asset in assets)
    client.app.state.config = ApiConfig(map_tiles="https://tiles.semarangkota.go.id/osm/{z}/{x}/{y}.png")
    tiled = client.get("/ui/wall")
    assert 'data-tiles="https://tiles.semarangkota.go.id/osm/{z}/{x}/{y}.png"' in tiled.text
    assert "img-src 'self' https://tiles.semarangkota.go.id blob:" in tiled.headers["content-security-policy"]


@pytest.mark.parametrize("template", ["https://tiles.example/osm.png", "javascript:alert(1)/{z}/{x}/{y}",
                                      'https://x/{z}/{x}/{y}" onload="x'])
def test_a_tile_server_must_be_an_http_url_template(template):
    with pytest.raises(ValueError):
        ApiConfig(map_tiles=template)
