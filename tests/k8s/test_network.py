"""Only the API's port is open beyond the namespace; Ray's dashboard is never exposed."""

from __future__ import annotations

import pytest

from tests.k8s.manifests import OVERLAYS, build, of_kind, one

API_PORT = 8000
DASHBOARD_PORTS = {8265, 52365}
# Sources outside the namespace that get more than the API, and exactly which ports.
ALLOWED_OUTSIDE = {
    ("kuberay-system", "kuberay-operator"): {8265, 52365},  # KubeRay deploys serveConfigV2 through the dashboard
    ("monitoring", "prometheus"): {8080},  # the PodMonitor's scrapes
    ("cnpg-system", "cloudnative-pg"): {8000, 5432},  # the CloudNativePG operator manages the database's pods
}


def outside_sources(rule: dict):
    """(namespace, app) for each peer outside the namespace; ("*", "*") when anyone may connect."""
    peers = rule.get("from")
    if not peers:
        yield ("*", "*")
        return
    for peer in peers:
        if "ipBlock" in peer:
            yield ("*", "*")
        elif "namespaceSelector" in peer:
            namespace = peer["namespaceSelector"].get("matchLabels", {}).get("kubernetes.io/metadata.name", "*")
            app = peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name", "*")
            yield (namespace, app)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_api_port_is_open_to_everyone(overlay):
    for policy in of_kind(build(overlay), "NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            ports = {p.get("port") for p in rule.get("ports", [])} or {"all"}
            for source in outside_sources(rule):
                allowed = {API_PORT} if source == ("*", "*") else ALLOWED_OUTSIDE.get(source, set())
                assert ports <= allowed, f"{policy['metadata']['name']}: {source} may reach {ports}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_all_ingress_is_denied_by_default(overlay):
    default = one(build(overlay), "NetworkPolicy", "matakota-default-deny-ingress")["spec"]
    assert default == {"podSelector": {}, "policyTypes": ["Ingress"]}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_nothing_exposes_the_dashboard(overlay):
    docs = build(overlay)
    assert not of_kind(docs, "Ingress") and not of_kind(docs, "Route")
    for service in of_kind(docs, "Service"):
        ports = {p["port"] for p in service["spec"]["ports"]}
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP" or not ports & DASHBOARD_PORTS
    head = one(docs, "RayService")["spec"]["rayClusterConfig"]["headGroupSpec"]
    assert head.get("serviceType", "ClusterIP") == "ClusterIP"
    assert not head.get("enableIngress", False)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_matakota_and_the_operator_reach_the_database(overlay):
    policy = one(build(overlay), "NetworkPolicy", "matakota-db")["spec"]
    assert policy["podSelector"] == {"matchLabels": {"cnpg.io/cluster": "matakota-db"}}
    inside = policy["ingress"][0]
    assert [p["podSelector"]["matchLabels"] for p in inside["from"]] == [
        {"app.kubernetes.io/name": "matakota"}, {"cnpg.io/cluster": "matakota-db"},
        {"app.kubernetes.io/name": "matakota-export"}]  # the open-data CronJob (tests/k8s/test_open_data.py)
    assert inside["ports"] == [{"protocol": "TCP", "port": 5432}]
