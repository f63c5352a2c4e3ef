"""Synthetic cameras, `synthetic://WIDTHxHEIGHT?fps=1&detect=0`: frames without a decoder, for scale tests.

A synthetic camera has no thread and no decoder: its frames are due on the clock (one every 1/fps s since it
started) and the newest is handed out, as one constant blank frame, when the shard takes it. So a shard process
hosts hundreds of them and a control-plane simulation (loadtest/fleet_sim.py) runs 10,417 on two cores. With
`detect=0` the shard analyses its frames with no detections instead of sending them to the Detector, so
heartbeats, states, rates and latencies are real while no model runs. The decode settings of the camera do not
apply. Allowed wherever local files are (`allow_files`): never in production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from urllib.parse import parse_qs, urlsplit

import numpy as np

from .errors import UnsupportedSourceError

SCHEME = "synthetic"
SIZE = re.compile(r"^(\d{1,4})x(\d{1,4})$")
PARAMETERS = {"fps", "detect"}


@dataclass(frozen=True)
class SyntheticSpec:
    width: int
    height: int
    fps: float = 1.0
    detect: bool = True  # False: the shard analyses empty detections without calling the Detector


@lru_cache(maxsize=1 << 12)  # asked for at every validation of every camera: a fleet has few distinct URLs
def parse(url: str) -> SyntheticSpec:
    """The spec of a `synthetic://` URL; UnsupportedSourceError (a ValueError) says what is wrong."""
    parts = urlsplit(url)
    size = SIZE.match(parts.netloc)
    if parts.scheme.lower() != SCHEME or not size or parts.path not in ("", "/"):
        raise UnsupportedSourceError(f"expected synthetic://WIDTHxHEIGHT?fps=N&detect=0|1, got {url!r}")
    query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(query) - PARAMETERS)
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


@cache
def blank_frame(width: int, height: int) -> np.ndarray:
    """One read-only grey BGR frame per size, shared by every camera of that size."""
    image = np.full((height, width, 3), 114, np.uint8)
    image.flags.writeable = False
    return image
