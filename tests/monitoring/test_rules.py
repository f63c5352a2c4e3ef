"""Alert rules, PrometheusRule, dashboard and metric docs agree with each other and with the catalogue."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from matakota.core.metrics import BY_NAME, CATALOGUE, EXPORT_PREFIX, markdown

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "k8s" / "monitoring"
RULES = MONITORING / "alerts.rules.yaml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian package `prometheus`; `make system-deps` installs it)")

METRIC_NAME = re.compile(r"\bray_matakota_[a-z_]+")
HISTOGRAM_SUFFIX = re.compile(r"_(bucket|sum|count)$")
SERVE_ALLOWED: set[str] = set()  # Ray Serve's own ray_serve_* metrics used by a panel (none so far)
NOT_USED: dict[str, str] = {}  # catalogue metric → why no alert or panel uses it (none so far)


def load_render():
    spec = importlib.util.spec_from_file_location("monitoring_render", MONITORING / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rule_groups() -> list[dict]:
    return yaml.safe_load(RULES.read_text())["groups"]


def alerts() -> list[dict]:
    return [rule for group in rule_groups() for rule in group["rules"] if "alert" in rule]


def panel_exprs() -> list[str]:
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    return [target["expr"] for p in dashboard["panels"] for target in p.get("targets", [])]


def dashboard_exprs() -> list[str]:
    """Panel PromQL and the variables' queries (Grafana's `label_values(...)`, not PromQL)."""
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    return panel_exprs() + [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]


def catalogue_names(text: str) -> set[str]:
    """Catalogue names (without Ray's prefix) of every ray_matakota_* metric named in `text`."""
    return {HISTOGRAM_SUFFIX.sub("", name)[len(EXPORT_PREFIX):] for name in METRIC_NAME.findall(text)}


@needs_promtool
def test_promtool_check_rules():
    result = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_unit_tests_pass():
    result = subprocess.run([PROMTOOL, "test", "rules", "alerts.test.yaml"], cwd=MONITORING,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_example_prometheus_config_is_valid():
    result = subprocess.run([PROMTOOL, "check", "config", "prometheus.yml"], cwd=MONITORING,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested_firing():
    tests = yaml.safe_load((MONITORING / "alerts.test.yaml").read_text())["tests"]
    firing = {case["alertname"] for test in tests for case in test.get("alert_rule_test", []) if case["exp_alerts"]}
    quiet = {case["alertname"] for test in tests for case in test.get("alert_rule_test", []) if not case["exp_alerts"]}
    names = {rule["alert"] for rule in alerts()}
    assert names - firing == set(), "alerts never shown firing"
    assert names - quiet == set(), "alerts never shown quiet (before `for:` or on healthy series)"


@pytest.mark.parametrize("rule", alerts(), ids=lambda rule: rule["alert"])
def test_alert_is_complete(rule):
    assert rule.get("for"), "every alert waits a `for:`"
    assert rule["labels"]["severity"] in {"warning", "critical"}
    assert {"summary", "description", "runbook"} <= set(rule["annotations"])
    assert "\n" not in rule["annotations"]["runbook"].strip(), "the runbook is one line"


def test_rule_expressions_name_catalogue_metrics():
    text = "\n".join(rule["expr"] for group in rule_groups() for rule in group["rules"])
    assert catalogue_names(text) - set(BY_NAME) == set()


def test_prometheusrule_holds_the_plain_rules():
    rendered = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert rendered["apiVersion"] == "monitoring.coreos.com/v1" and rendered["kind"] == "PrometheusRule"
    assert rendered["spec"]["groups"] == rule_groups()


def test_generated_files_are_up_to_date():
    render = load_render()
    for path, text in render.GENERATED.items():
        assert path.read_text() == text(), f"{path.name} is stale: run python k8s/monitoring/render.py"


def test_dashboard_shape():
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    assert dashboard["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["site"]["type"] == "query"
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == ["Fleet overview", "Sites", "Detector", "Supervisor and data out"]
    for p in dashboard["panels"]:
        if p["type"] != "row":
            assert p["datasource"]["uid"] == "${datasource}", p["title"]
            assert p["targets"], p["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_dashboard_expressions_name_catalogue_metrics():
    for expr in dashboard_exprs():
        assert catalogue_names(expr) - set(BY_NAME) == set(), expr
        assert set(re.findall(r"\bray_serve_[a-z_]+", expr)) - SERVE_ALLOWED == set(), expr
        assert METRIC_NAME.search(expr), f"no matakota metric in {expr!r}"


def test_every_catalogue_metric_is_alerted_or_shown():
    used = catalogue_names("\n".join([RULES.read_text(), *dashboard_exprs()]))
    unused = {spec.name for spec in CATALOGUE} - used
    assert unused == set(NOT_USED), "use these metrics in an alert or panel, or list them in NOT_USED with a reason"


def test_metrics_doc_is_generated_from_the_catalogue():
    assert (ROOT / "docs" / "metrics.md").read_text() == markdown(), (
        "regenerate: python -c 'from matakota.core.metrics import markdown; print(markdown(), end=\"\")' "
        "> docs/metrics.md")


def test_catalogue_help_is_ascii():
    """Ray's metric constructors encode the description as ASCII: any other character raises
    UnicodeEncodeError the first time a process records the metric."""
    assert [spec.name for spec in CATALOGUE if not spec.help.isascii()] == []


def test_observability_doc_lists_every_alert_with_its_runbook():
    doc = (ROOT / "docs" / "observability.md").read_text()
    missing = [rule["alert"] for rule in alerts()
               if f"`{rule['alert']}`" not in doc or rule["annotations"]["runbook"] not in doc]
    assert missing == []
