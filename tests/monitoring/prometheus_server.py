"""A real Prometheus server on loopback for tests: scrapes given targets every second, loads rule files,
answers PromQL over its HTTP API."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import yaml

from tests.network import free_port

PROMETHEUS = shutil.which("prometheus")


class PrometheusServer:
    def __init__(self, workdir: Path, targets: list[str], rule_files: tuple[Path, ...] = ()) -> None:
        self.workdir, self.targets, self.rule_files = workdir, targets, rule_files
        self.url = f"http://127.0.0.1:{free_port()}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> PrometheusServer:
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in self.rule_files],
            "scrape_configs": [{"job_name": "ray", "static_configs": [{"targets": self.targets}]}],
        }
        config_file = self.workdir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config))
        self.log = (self.workdir / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config_file}", f"--storage.tsdb.path={self.workdir / 'data'}",
             f"--web.listen-address={self.url.removeprefix('http://')}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_for(lambda: httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200, 30, "ready")
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    def api(self, path: str, **params) -> dict:
        body = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10).json()
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        """Instant query; the result vector (each item has `metric` labels and `value` [time, "value"])."""
        return self.api("query", query=expr)["result"]

    def wait_for(self, check, timeout_s: float, what: str):
        """Polls `check()` until it returns something truthy (returned), or fails with the server's log tail."""
        deadline, last_error = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            try:
                if result := check():
                    return result
            except (httpx.HTTPError, OSError) as error:
                last_error = error
            if self.process.poll() is not None:
                break
            time.sleep(1)
        log = (self.workdir / "prometheus.log").read_text()[-2000:]
        raise AssertionError(f"Prometheus: {what} not seen within {timeout_s} s ({last_error}); log:\n{log}")

    def wait_for_series(self, expr: str, timeout_s: float = 120) -> list[dict]:
        """The non-empty result of `expr`, once scraped (Ray refreshes its export only every ~10 s)."""
        return self.wait_for(lambda: self.query(expr), timeout_s, expr)
