"""The operator dashboard: one static page (`GET /ui`) and its assets (`GET /ui/static/{name}`).

The page holds no data and needs no token; the data calls it makes carry the operator's `read` token.
Assets are plain files from `serve/static/`, served only if their name is in the allow-list built at import
(no path is ever joined from the request, so traversal is impossible). The page references them with
`?v=<content hash>`, so they can be cached for a day and a new release still reaches every wall screen.
"""

from __future__ import annotations

import hashlib
import html
import logging
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

log = logging.getLogger("matakota.ui")
STATIC = Path(__file__).parent / "static"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
SECURITY = {
    # Same-origin only: no CDN, no inline script; snapshots and clips are shown from blob: URLs.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src blob:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class _Asset:
    def __init__(self, path: Path) -> None:
        self.body = path.read_bytes()
        self.media_type = TYPES[path.suffix]
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


def _load() -> tuple[dict[str, _Asset], dict[str, bytes]]:
    if not (STATIC / "index.html").is_file():  # a broken install must not take the data API down with it
        log.error("the dashboard's files are missing from %s (package data not installed?)", STATIC)
        missing = b"<!doctype html><title>matakota</title><p>The dashboard is not installed.</p>"
        return {}, dict.fromkeys(PAGES, missing)
    assets = {p.name: _Asset(p) for p in sorted(STATIC.iterdir())
              if p.is_file() and p.suffix in TYPES and not p.name.startswith(".")}
    pages = {}
    for name in PAGES:
        page = (STATIC / name).read_text()
        for asset_name, asset in assets.items():  # cache-busting: ui/static/app.js → ui/static/app.js?v=<hash>
            page = page.replace(f"ui/static/{asset_name}\"", f"ui/static/{asset_name}?v={asset.etag.strip(chr(34))}\"")
        pages[name] = page.encode()
    return assets, pages


PAGES = ("index.html", "wall.html")  # /ui: live counts and alarms; /ui/wall: the camera wall and map
ASSETS, PAGE_BODIES = _load()
router = APIRouter(tags=["ui"], include_in_schema=False)


@router.get("/ui")
def page() -> Response:
    return Response(PAGE_BODIES["index.html"], media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-cache", **SECURITY})


@router.get("/ui/wall")
def wall(request: Request) -> Response:
    """The camera wall and map; with `api.map_tiles`, the page names the tile server and may load images from it."""
    config = getattr(request.app.state, "config", None)
    body, headers = PAGE_BODIES["wall.html"], dict(SECURITY)
    if config is not None and config.map_tiles:
        body = body.replace(b'data-tiles=""', f'data-tiles="{html.escape(config.map_tiles)}"'.encode(), 1)
        headers["Content-Security-Policy"] = headers["Content-Security-Policy"].replace(
            "img-src 'self'", f"img-src 'self' {config.tiles_origin}")
    return Response(body, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache", **headers})


@router.get("/ui/")
def page_slash() -> RedirectResponse:
    return RedirectResponse("../ui", status_code=308)  # relative: keeps a proxy's path prefix


@router.get("/ui/static/{name}")
def static(name: str, request: Request) -> Response:
    asset = ASSETS.get(name)
    if asset is None:
        raise HTTPException(404, "no such asset")
    headers = {"Cache-Control": "public, max-age=86400", "ETag": asset.etag, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
