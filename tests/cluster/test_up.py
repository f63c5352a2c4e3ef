"""`matakota up --no-deploy --detach` as the Kubernetes sidecar runs it, against a running cluster."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
import ray
import yaml

from matakota.cluster import bootstrap
from matakota.core.messages import CameraState
from matakota.core.names import NAMESPACE, SUPERVISOR_NAME
from tests.waiting import wait_for


@pytest.mark.timeout(240)
def test_the_sidecar_starts_the_fleet_and_leaves_it_running_on_sigterm(api_url, people_clip, store_config, tmp_path):
    config = tmp_path / "matakota.yaml"
    config.write_text(yaml.safe_dump({"store": store_config, "fleet": {"allow_files": True, "cameras": [
        {"id": "sidecar-0", "url": str(people_clip), "decode": {"mode": "keyframes"}}]}}))
    address = ray.get_runtime_context().gcs_address
    sidecar = subprocess.Popen([sys.executable, "-m", "matakota.cluster.cli", "up", str(config), "--address", address,
                                "--no-deploy", "--detach"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def supervisor_online():
            try:
                supervisor = ray.get_actor(SUPERVISOR_NAME, namespace=NAMESPACE)
            except ValueError:
                return False
            return any(c.state is CameraState.ONLINE for c in ray.get(supervisor.cameras.remote()))

        assert wait_for(supervisor_online, 120), "the sidecar did not start the fleet"
        sidecar.send_signal(signal.SIGTERM)
        assert sidecar.wait(timeout=30) == 0
        time.sleep(2)
        assert supervisor_online(), "SIGTERM to the sidecar must leave the fleet running"
    finally:
        if sidecar.poll() is None:
            sidecar.kill()
        bootstrap.stop_fleet()
    assert "fleet of 1 configured cameras is running" in sidecar.stdout.read()
