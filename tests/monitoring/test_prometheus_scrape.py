"""A real Prometheus scrapes Ray's metrics port: catalogue metrics arrive with the names, labels and shapes the
alert rules and the dashboard assume, and every rule and panel expression evaluates."""

from __future__ import annotations

import json
import math
import time

import pytest
import yaml

from tests.monitoring.prometheus_server import PROMETHEUS, PrometheusServer
from tests.monitoring.test_rules import MONITORING, RULES, panel_exprs

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(PROMETHEUS is None, reason="prometheus not installed (Debian package `prometheus`)"),
]

SITE, SHARD = "probe-site", "probe-shard"
PROBES = 2  # two worker processes recording the same series: Ray exports one series per WorkerId


def record_probe_metrics(frames: int) -> None:
    """What a shard, the detector and the supervisor record, in miniature (runs inside a Ray actor)."""
    from matakota.core.metrics import metric

    camera = {"site": SITE, "shard": SHARD}
    metric("matakota_camera_up").set(1, tags={"camera": "probe-up", **camera})
    metric("matakota_camera_up").set(0, tags={"camera": "probe-down", **camera})
    metric("matakota_camera_frames_analysed_total").inc(frames, tags=camera)
    metric("matakota_shard_tick_seconds").observe(0.2, tags={"shard": SHARD})
    metric("matakota_detector_batch_frames").observe(frames)
    metric("matakota_detector_frames_total").inc(frames)
    metric("matakota_supervisor_heartbeat_timestamp_seconds").set(time.time())
    metric("matakota_flood_alarm_level").set(1, tags={"camera": "probe-gauge", "site": SITE, "level": "siaga"})


@pytest.fixture(scope="module")
def metrics_target(ray_cluster):
    """host:port of a Ray metrics endpoint exporting catalogue metrics. Today small probe actors record them;
    a running demo fleet can take their place (yield the same target once the fleet is up)."""
    import ray

    @ray.remote(num_cpus=0)
    class MetricsProbe:
        def record(self, frames: int) -> None:
            record_probe_metrics(frames)

    probes = [MetricsProbe.remote() for _ in range(PROBES)]
    ray.get([probe.record.remote(5) for probe in probes])
    yield f"127.0.0.1:{ray._private.worker.global_worker.node.metrics_export_port}"
    for probe in probes:
        ray.kill(probe)


@pytest.fixture(scope="module")
def prometheus(metrics_target, tmp_path_factory):
    with PrometheusServer(tmp_path_factory.mktemp("prometheus"), [metrics_target], rule_files=(RULES,)) as server:
        yield server


def value(sample: dict) -> float:
    return float(sample["value"][1])


def test_gauges_arrive_with_ray_labels(prometheus):
    up = prometheus.wait_for_series(f'ray_matakota_camera_up{{site="{SITE}",camera="probe-up"}} > 0')
    assert {"Component", "NodeAddress", "SessionName", "Version", "WorkerId", "shard"} <= set(up[0]["metric"])
    # The alerts' per-camera aggregation: one value per camera whatever the number of worker processes.
    cameras = prometheus.query(f'max by (site, camera) (ray_matakota_camera_up{{site="{SITE}"}})')
    assert {s["metric"]["camera"]: value(s) for s in cameras} == {"probe-up": 1.0, "probe-down": 0.0}


def test_counters_are_one_series_per_worker_and_sum_up(prometheus):
    expr = f'ray_matakota_camera_frames_analysed_total{{site="{SITE}"}}'
    prometheus.wait_for(lambda: len(prometheus.query(expr)) == PROBES, 60, f"{PROBES} series of {expr}")
    total = prometheus.query(f"sum by (site) ({expr})")
    assert [value(s) for s in total] == [5.0 * PROBES]


def test_histograms_export_buckets_and_counts(prometheus):
    counts = prometheus.wait_for_series("sum(ray_matakota_detector_batch_frames_count) > 0")
    assert value(counts[0]) >= PROBES
    assert value(prometheus.query("sum(ray_matakota_detector_frames_total)")[0]) >= 5 * PROBES
    p99 = prometheus.wait_for_series(
        f'histogram_quantile(0.99, sum by (le) (ray_matakota_shard_tick_seconds_bucket{{shard="{SHARD}"}}))')
    assert 0.1 <= value(p99[0]) <= 0.25  # 0.2 s lies in the (0.1, 0.25] bucket


def test_alert_rules_load_and_evaluate(prometheus):
    expected = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}

    def evaluated_rules():
        rules = [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
        return rules if all(r.get("lastEvaluation", "").startswith("20") for r in rules) else None

    rules = prometheus.wait_for(evaluated_rules, 30, "every rule evaluated")
    assert {r["name"] for r in rules} == expected
    assert [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []
    # The probe's siaga alarm is real input for the flood rule: pending (its `for:` is 1m) or firing.
    prometheus.wait_for(lambda: [a for a in prometheus.api("alerts")["alerts"]
                                 if a["labels"]["alertname"] == "MatakotaFloodLevelSiaga"], 60, "siaga alert")


@pytest.mark.parametrize("expr", panel_exprs())
def test_dashboard_expressions_evaluate(prometheus, expr):
    concrete = expr.replace("$__rate_interval", "1m").replace("$site", ".*")
    prometheus.query(concrete)  # raises on a PromQL error


def test_dashboard_panels_see_probe_data(prometheus):
    prometheus.wait_for_series(f'ray_matakota_flood_alarm_level{{site="{SITE}"}}')
    panels = json.loads((MONITORING / "dashboard.json").read_text())["panels"]
    flood = next(p for p in panels if p["title"] == "Flood alarm levels raised")
    result = prometheus.query(flood["targets"][0]["expr"].replace("$site", SITE))
    assert [(s["metric"]["camera"], s["metric"]["level"]) for s in result] == [("probe-gauge", "siaga")]
    age = prometheus.query(next(p for p in panels if p["title"] == "Supervisor heartbeat age")["targets"][0]["expr"])
    assert not math.isnan(value(age[0]))
