"""What a camera URL means, without opening it: its kind, its credential reference, a synthetic camera's spec.

Config validation, the video layer that opens sources and the API all classify URLs here, so they agree:
- `rtsp(s)://`, `http(s)://`: network cameras;
- `file://`, a plain path, `asset:NAME` (a demo clip of the asset manifest) and `synthetic://WxH?fps=N&detect=0|1`
  (frames without video, for scale tests): only where local files are allowed (`allow_files`), never in production;
- `scheme://${NAME}@host/…`: the user part names a credentials file, read when the camera connects
  (video/credentials.py).
Errors are `UnsupportedSourceError` (a ValueError) with the URL redacted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from matakota.core import assets
from matakota.core.errors import UnsupportedSourceError
from matakota.core.redact import redact_url

NETWORK_SCHEMES = {"rtsp", "rtsps", "http", "https"}
ASSET_SCHEME = "asset"
SYNTHETIC_SCHEME = "synthetic"

CREDENTIAL_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}"
CREDENTIAL_REFERENCE = re.compile(
    rf"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)\$\{{(?P<name>{CREDENTIAL_NAME})\}}@(?P<rest>[^@]+)$")

SYNTHETIC_SIZE = re.compile(r"^(\d{1,4})x(\d{1,4})$")
SYNTHETIC_PARAMETERS = {"fps", "detect"}


class SourceKind(str, Enum):
    RTSP = "rtsp"
    HTTP = "http"
    FILE = "file"  # a local file, or a demo clip (`asset:NAME`)
    SYNTHETIC = "synthetic"  # no video at all: scale tests (video/synthetic.py)


def source_kind(url: str, allow_files: bool) -> SourceKind:
    """Classify a URL, raising UnsupportedSourceError (redacted) for anything not allowed.

    Control characters and surrounding whitespace are refused first: Python's URL parser drops some (a tab in
    `ht\ttp://`) where FFmpeg would not, so the two could read one string as different things."""
    if any(ord(c) < 32 or ord(c) == 127 for c in url) or url != url.strip():
        raise UnsupportedSourceError("a URL must not hold control characters or surrounding whitespace: "
                                     f"{redact_url(url)!r}")
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        raise UnsupportedSourceError(f"not a URL: {redact_url(url)}") from None
    if scheme in NETWORK_SCHEMES and " " in url:
        raise UnsupportedSourceError(f"a network URL must not hold spaces (percent-encode them): {redact_url(url)}")
    if scheme in ("rtsp", "rtsps"):
        return SourceKind.RTSP
    if scheme in ("http", "https"):
        return SourceKind.HTTP
    if scheme in ("", "file", ASSET_SCHEME) or (len(scheme) == 1 and Path(url).drive):  # plain path (C:\ too)
        if not allow_files:
            raise UnsupportedSourceError(f"local files are disabled (set allow_files=True): {redact_url(url)}")
        if scheme == ASSET_SCHEME:
            asset_name(url)
        return SourceKind.FILE
    if scheme == SYNTHETIC_SCHEME:
        if allow_files:
            parse_synthetic(url)
            return SourceKind.SYNTHETIC
        raise UnsupportedSourceError(f"synthetic cameras are disabled (set allow_files=True): {redact_url(url)}")
    raise UnsupportedSourceError(f"unsupported scheme {scheme!r} (allowed: {', '.join(sorted(NETWORK_SCHEMES))}"
                                 f", and files with allow_files): {redact_url(url)}")


def asset_name(url: str) -> str | None:
    """The asset an `asset:NAME` URL names (None for other URLs); UnsupportedSourceError for an unknown one."""
    if not url.startswith(f"{ASSET_SCHEME}:"):
        return None
    name = url.removeprefix(f"{ASSET_SCHEME}:")
    known = assets.manifest()
    if name not in known:
        raise UnsupportedSourceError(f"unknown asset {name!r} (known: {', '.join(sorted(known))})")
    return name


def credential_reference(url: str) -> str | None:
    """The credential name a URL refers to (None without one); ValueError for a malformed reference."""
    if "${" not in url:
        return None
    match = CREDENTIAL_REFERENCE.match(url)
    if match is None:
        raise ValueError("a credential reference must be the whole user part of the URL: scheme://${NAME}@host/…"
                         " with NAME of letters, digits, '.', '_' or '-'")
    return match["name"]


@dataclass(frozen=True)
class SyntheticSpec:
    width: int
    height: int
    fps: float = 1.0
    detect: bool = True  # False: the shard analyses empty detections without calling the Detector


@lru_cache(maxsize=1 << 12)  # asked for at every validation of every camera: a fleet has few distinct URLs
def parse_synthetic(url: str) -> SyntheticSpec:
    """The spec of a `synthetic://` URL; UnsupportedSourceError (a ValueError) says what is wrong."""
    parts = urlsplit(url)
    size = SYNTHETIC_SIZE.match(parts.netloc)
    if parts.scheme.lower() != SYNTHETIC_SCHEME or not size or parts.path not in ("", "/"):
        raise UnsupportedSourceError(f"expected synthetic://WIDTHxHEIGHT?fps=N&detect=0|1, got {url!r}")
    query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(query) - SYNTHETIC_PARAMETERS)
    if unknown:
        raise UnsupportedSourceError(f"synthetic source: unknown parameter(s) {', '.join(unknown)} in {url!r}")
    width, height = int(size[1]), int(size[2])
    try:
        fps = float(query.get("fps", 1.0))
    except ValueError:
        fps = 0.0
    if width < 16 or height < 16:
        raise UnsupportedSourceError(f"synthetic source: frames are at least 16x16, got {width}x{height}")
    if not 0.0 < fps <= 240.0:
        raise UnsupportedSourceError(f"synthetic source: fps must be in (0, 240], got {query.get('fps')!r}")
    if query.get("detect", "1") not in ("0", "1"):
        raise UnsupportedSourceError(f"synthetic source: detect is 0 or 1, got {query['detect']!r}")
    return SyntheticSpec(width, height, fps, query.get("detect", "1") == "1")
