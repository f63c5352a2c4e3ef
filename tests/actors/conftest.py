"""Helpers for the decode tests: real clips (MATAKOTA_ASSET_MIRROR or /work/shared), the RTSP simulator."""
from __future__ import annotations

import importlib.util
import os
import sys
import threading
from pathlib import Path

import pytest

from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]


def clips_dir() -> Path:
    root = Path(os.environ.get("MATAKOTA_ASSET_MIRROR") or "/work/shared")
    return root / "clips"


def clip(name: str) -> str:
    path = clips_dir() / name
    if not path.exists():
        pytest.skip(f"clip {name} not found under {clips_dir()}")
    return str(path)


def load_rtsp_sim():
    spec = importlib.util.spec_from_file_location("matakota_rtsp_sim", REPO / "loadtest" / "rtsp_sim.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def rtsp_available() -> bool:
    return Path("/usr/lib/python3/dist-packages/gi").exists() and bool(
        list(Path("/usr/lib").glob("*/girepository-1.0/GstRtspServer-1.0.typelib")))


@pytest.fixture
def wait_until():
    """`wait_until(predicate, timeout)` → True once predicate() holds, False at the deadline."""
    return wait_for


@pytest.fixture
def camera_threads():
    """`camera_threads()` → names of live CameraReader threads."""
    return lambda: [t.name for t in threading.enumerate() if t.name.startswith("camera-")]


@pytest.fixture(scope="session")
def rtsp_sim():
    """The loadtest/rtsp_sim.py module (not a package), loaded by path; skips without GStreamer."""
    if not Path("/usr/bin/python3").exists() or not rtsp_available():
        pytest.skip("RTSP simulator needs GStreamer + python3-gi (make system-deps)")
    return load_rtsp_sim()


@pytest.fixture(scope="session")
def person_clip() -> str:
    return clip("one-by-one-person-detection.mp4")


@pytest.fixture(scope="session")
def car_clip() -> str:
    return clip("car-detection.mp4")
