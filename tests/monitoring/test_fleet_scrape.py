"""A real Prometheus scrapes a running fleet (demo clips, real shards, the real Detector on Serve)."""

from __future__ import annotations

import pytest
import ray

from matakota.cluster import bootstrap
from matakota.cluster.demo import EXAMPLES
from matakota.config import parse_config
from tests.monitoring.prometheus_server import PROMETHEUS, PrometheusServer
from tests.monitoring.test_rules import RULES

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(PROMETHEUS is None, reason="prometheus not installed (Debian package `prometheus`)"),
]


@pytest.fixture(scope="module")
def fleet(api_url, people_clip, store_config):
    import yaml

    analytics = yaml.safe_load((EXAMPLES / "cameras" / "one-by-one.yaml").read_text())
    config = parse_config({"store": store_config, "fleet": {"allow_files": True, "cameras": [
        {"id": f"scrape-{i}", "site": "simpang-lima", "url": str(people_clip), "analytics": analytics}
        for i in range(2)]}})
    yield bootstrap.start_fleet(config, reset=True)
    bootstrap.stop_fleet()


@pytest.fixture(scope="module")
def prometheus(fleet, tmp_path_factory):
    target = f"127.0.0.1:{ray._private.worker.global_worker.node.metrics_export_port}"
    with PrometheusServer(tmp_path_factory.mktemp("prometheus"), [target], rule_files=(RULES,)) as server:
        yield server


def test_the_fleet_reports_cameras_online_and_a_populated_detector_histogram(prometheus):
    prometheus.wait_for_series('sum(ray_matakota_camera_up{site="simpang-lima"}) >= 2', 180)
    prometheus.wait_for_series("sum(ray_matakota_detector_batch_frames_count) > 0", 120)
    prometheus.wait_for_series("sum(ray_matakota_camera_frames_analysed_total) > 0", 60)
    prometheus.wait_for_series("histogram_quantile(0.99, sum by (le) "
                               "(rate(ray_matakota_pipeline_latency_seconds_bucket[1m]))) > 0", 90)
    prometheus.wait_for_series("time() - max(ray_matakota_supervisor_heartbeat_timestamp_seconds) < 60", 60)
    assert prometheus.query('ray_matakota_detector_provider_info{provider="CPUExecutionProvider"}')
