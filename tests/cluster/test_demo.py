"""`matakota demo` as a user runs it: it prints where its API and metrics are, runs until Ctrl-C, then says what it
counted and stored, and where."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading

import httpx
import pytest

from tests.network import free_port


@pytest.mark.timeout(420)
def test_the_demo_runs_until_ctrl_c_and_says_what_it_left_where(model_path, people_clip, cars_clip, tmp_path):
    home = tmp_path / "home"
    api_port, metrics_port = free_port(), free_port()
    demo = subprocess.Popen([sys.executable, "-m", "matakota.cluster.cli", "demo", "--cameras", "2", "--port",
                             str(api_port), "--metrics-port", str(metrics_port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "MATAKOTA_HOME": str(home)})  # its store, not the user's
    lines: list[str] = []
    status_lines = threading.Semaphore(0)

    def read_output():
        for line in demo.stdout:
            lines.append(line.rstrip("\n"))
            if re.match(r"\s*\d+s +\d+/\d+ ", line):  # a live status line: `   12s    2/2  …`
                status_lines.release()

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    try:
        assert status_lines.acquire(timeout=300), "\n".join(lines[-30:])
        assert f"metrics: http://127.0.0.1:{metrics_port}/metrics" in lines
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        assert metrics.status_code == 200 and "\nray_" in metrics.text
        demo.send_signal(signal.SIGINT)  # Ctrl-C
        assert demo.wait(timeout=90) == 0
        reader.join(timeout=10)
    finally:
        if demo.poll() is None:
            demo.kill()
    stopped = [line for line in lines if line.startswith("matakota: stopped;")]
    assert stopped, "\n".join(lines[-30:])
    assert "visits at 1 site since" in stopped[0] and "events" in stopped[0]  # cam-0's site (cam-1: cars)
    assert stopped[0].endswith(f"in {home / 'matakota.db'}")
    assert (home / "matakota.db").is_file()
