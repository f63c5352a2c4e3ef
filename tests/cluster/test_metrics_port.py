"""A local Ray serves Prometheus metrics on a fixed port (`metrics.port`, `--metrics-port`), printed at start; a
taken port stops `serve`, `demo` and `up` with a message naming it; a joined cluster keeps its own port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import pytest

from matakota.cluster import bootstrap, cli
from tests.network import free_port

LOCAL_RAY = """
import sys
from matakota.cluster import bootstrap
print(bootstrap.start_ray(num_cpus=1, metrics_port=int(sys.argv[1])), flush=True)
sys.stdin.read()  # until the test closes it
bootstrap.shutdown()
"""


@pytest.mark.timeout(180)
def test_a_local_ray_serves_prometheus_metrics_on_the_port_given():
    port = free_port()
    ray_process = subprocess.Popen([sys.executable, "-c", LOCAL_RAY, str(port)], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
    try:
        url = ray_process.stdout.readline().strip()
        assert url == f"http://127.0.0.1:{port}/metrics"
        deadline, series = time.monotonic() + 120, []
        while time.monotonic() < deadline and not series:
            try:
                text = httpx.get(url, timeout=10).text
                series = [line for line in text.splitlines() if line.startswith("ray_")]
            except httpx.TransportError:
                pass  # the node's metrics agent is still starting
            time.sleep(1)
        assert series, f"no ray_ series at {url} after 120 s"
    finally:
        ray_process.stdin.close()
        try:
            ray_process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            ray_process.kill()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("command", ["serve", "demo", "up"])
def test_a_taken_metrics_port_stops_the_command_naming_port_and_field(command, model_path, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "fleet.yaml"
        config.write_text(f"metrics:\n  port: {port}\n")  # `up` takes it from its config, the others from the flag
        argv = {"serve": ["serve", "--metrics-port", str(port), "--duration", "1"],
                "demo": ["demo", "--cameras", "1", "--metrics-port", str(port), "--duration", "1"],
                "up": ["up", str(config), "--duration", "1"]}[command]
        run = subprocess.run([sys.executable, "-m", "matakota.cluster.cli", *argv], capture_output=True, text=True,
                             timeout=90)
    assert run.returncode == 1, run.stderr
    assert f"port {port} (metrics.port) is already in use" in run.stderr
    assert "Traceback" not in run.stderr


class _StubRay:
    def __init__(self):
        self.calls = []

    def __call__(self, address=None, metrics_port=None, **_):
        self.calls.append((address, metrics_port))
        return None if address else f"http://127.0.0.1:{metrics_port}/metrics"


@pytest.mark.timeout(60)
def test_serve_prints_the_metrics_url_of_a_local_ray_only(monkeypatch, model_path, capsys):
    start_ray = _StubRay()
    monkeypatch.setattr(bootstrap, "start_ray", start_ray)
    monkeypatch.setattr(bootstrap, "deploy", lambda config: None)
    monkeypatch.setattr(bootstrap, "shutdown", lambda: None)
    assert cli.main(["serve", "--metrics-port", "9191", "--duration", "0.01"]) == 0
    assert "metrics: http://127.0.0.1:9191/metrics" in capsys.readouterr().out.splitlines()
    assert cli.main(["serve", "--address", "ray://head:10001", "--duration", "0.01"]) == 0
    assert "metrics:" not in capsys.readouterr().out  # the cluster's nodes serve metrics on their own port
    assert start_ray.calls == [(None, 9191), ("ray://head:10001", None)]


def test_the_metrics_port_is_for_a_local_ray_only_and_not_the_api_s(tmp_path, capsys):
    assert cli.main(["serve", "--address", "ray://head:10001", "--metrics-port", "9191"]) == 2
    assert "--metrics-port applies to a local Ray only" in capsys.readouterr().err
    assert cli.main(["serve", "--port", "9191", "--metrics-port", "9191"]) == 2
    assert "command line: metrics.port: 9191 is api.port too" in capsys.readouterr().err
