"""Shared fixtures: assets (fetched or from the mirror), one Ray for the whole run, one Serve app, the MQTT
broker, the RTSP simulator."""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
from pathlib import Path

import av
import numpy as np
import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # local test cluster; token auth is for real clusters

# API tokens for the whole run: set before Ray starts, so every Serve replica enforces them.
READ_TOKEN = "read-" + secrets.token_hex(16)
ADMIN_TOKEN = "admin-" + secrets.token_hex(16)
READ = {"Authorization": f"Bearer {READ_TOKEN}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
_tokens = Path(tempfile.mkdtemp(prefix="matakota-tokens-")) / "tokens"
_tokens.write_text(f"# scope token\nread {READ_TOKEN}\nadmin {ADMIN_TOKEN}\n")
os.environ["MATAKOTA_TOKENS_FILE"] = str(_tokens)
# The webhook signing secret the EventSink reads (a fleet's webhook names it in `secret_env`); Ray workers
# inherit the environment of this process at `ray.init`.
os.environ["MATAKOTA_TEST_WEBHOOK_SECRET"] = secrets.token_hex(16)
# The key shards sign parking evidence packages with (fleet.shards.evidence.key_env's default), for every shard.
os.environ["MATAKOTA_EVIDENCE_KEY"] = secrets.token_hex(32)
# Camera credentials referenced as rtsp://${NAME}@… are read from here (by every shard process).
CREDENTIALS_DIR = Path(tempfile.mkdtemp(prefix="matakota-credentials-"))
os.environ["MATAKOTA_CREDENTIALS_DIR"] = str(CREDENTIALS_DIR)

from matakota.core import assets  # noqa: E402
from tests.network import free_port  # noqa: E402

BROKER = os.environ.get("MATAKOTA_TEST_MQTT", "127.0.0.1:1883")

PERSON_FRAMES = (100, 300, 1000)  # one-by-one-person-detection.mp4: one person standing in the room
EMPTY_FRAMES = (0, 200, 480, 900)  # the room with nobody in it


@pytest.fixture(scope="session")
def model_path():
    return assets.fetch("yolox-nano")


@pytest.fixture(scope="session")
def people_clip():
    return assets.fetch("one-by-one-person-detection")


@pytest.fixture(scope="session")
def cars_clip():
    return assets.fetch("car-detection")


def read_clip_frames(path, indices) -> dict[int, np.ndarray]:
    wanted, frames = set(indices), {}
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                frames[index] = frame.to_ndarray(format="bgr24")
            if len(frames) == len(wanted):
                break
    return frames


@pytest.fixture(scope="session")
def clip_frames(people_clip):
    """Real frames of the people clip, by frame number: people, empty room, and a spread for batching."""
    return read_clip_frames(people_clip, set(PERSON_FRAMES) | set(EMPTY_FRAMES) | set(range(0, 1394, 97)))


@pytest.fixture(scope="session")
def broker() -> tuple[str, int]:
    """The real Mosquitto (MATAKOTA_TEST_MQTT, default 127.0.0.1:1883); topics carry a per-test prefix."""
    host, port = BROKER.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        pytest.skip(f"no MQTT broker at {BROKER}")
    return host, int(port)


@pytest.fixture(scope="session")
def rtsp_sim():
    """The RTSP camera simulator (loadtest/rtsp_sim.py); skips without GStreamer's RTSP server and python3-gi."""
    from loadtest import rtsp_sim

    if not rtsp_sim.available():
        pytest.skip("the RTSP simulator needs GStreamer + python3-gi (make system-deps)")
    return rtsp_sim


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray for the whole run (start-up costs seconds); shut down at the end."""
    import ray

    ray.init(num_cpus=8, namespace="matakota", include_dashboard=False, log_to_driver=False)
    yield
    from ray import serve

    serve.shutdown()
    ray.shutdown()


@pytest.fixture(scope="session")
def store_config(tmp_path_factory) -> dict:
    """One SQLite store for the run's API and fleets (never the user's ~/.cache/matakota)."""
    folder = tmp_path_factory.mktemp("store")
    return {"url": str(folder / "matakota.db")}


@pytest.fixture(scope="session")
def api_url(ray_cluster, model_path, store_config):
    """The real Serve application (Detector + API) on a free loopback port."""
    from matakota.cluster import bootstrap
    from matakota.config import parse_config

    port = free_port()
    config = parse_config({
        "api": {"port": port, "max_body_bytes": 1 << 20, "max_image_pixels": 4_000_000},
        "detector": {"max_batch_size": 8, "batch_wait_timeout_s": 0.02},
        "store": store_config,
    })
    bootstrap.deploy(config)
    return f"http://127.0.0.1:{port}"
