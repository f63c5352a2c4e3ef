"""Fixtures for the security tests: the RTSP simulator (as in tests/actors) and a fresh password per run."""

from __future__ import annotations

import secrets

import pytest

from tests.actors.conftest import clip, load_rtsp_sim, rtsp_available


@pytest.fixture(scope="session")
def secret() -> str:
    """A password no other test uses: any occurrence in logs or output came from this run's cameras."""
    return "pw-" + secrets.token_hex(10)


@pytest.fixture(scope="session")
def rtsp_sim_module():
    from pathlib import Path

    if not Path("/usr/bin/python3").exists() or not rtsp_available():
        pytest.skip("RTSP simulator needs GStreamer + python3-gi (make system-deps)")
    return load_rtsp_sim()


@pytest.fixture(scope="session")
def person_clip_path() -> str:
    return clip("one-by-one-person-detection.mp4")
