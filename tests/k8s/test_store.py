"""On Kubernetes every count, event and evidence image goes to one PostgreSQL, never to a pod's own disk."""

from __future__ import annotations

import pytest
import yaml

from matakota.config import parse_config
from tests.k8s.manifests import OVERLAYS, build, fleet_config_text, of_kind, one, pod_templates


def store_problems(docs) -> list[str]:
    """Why pods of this build would keep data of their own (empty when the store is one shared PostgreSQL)."""
    store = parse_config(yaml.safe_load(fleet_config_text(docs))).store
    if store.url_env is None:
        return [f"store.url is {'a PostgreSQL URL in the ConfigMap' if store.is_postgres else 'a pod-local file'}: "
                "take it from a Secret (store.url_env)"]
    clusters = {c["metadata"]["name"] for c in of_kind(docs, "Cluster")}
    problems = []
    for group, spec in pod_templates(one(docs, "RayService")).items():
        env = {e["name"]: e for e in spec["containers"][0].get("env", [])}  # the Ray container
        ref = env.get(store.url_env, {}).get("valueFrom", {}).get("secretKeyRef")
        if ref is None:
            problems.append(f"{group}: {store.url_env} does not come from a Secret")
        elif ref["key"] != "uri" or (clusters and ref["name"] not in {f"{c}-app" for c in clusters}):
            problems.append(f"{group}: {store.url_env} from {ref['name']}/{ref['key']}, not a database's app Secret")
    return problems


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_reads_the_store_url_from_the_databases_secret(overlay):
    docs = build(overlay)
    assert not store_problems(docs)
    cluster = one(docs, "Cluster", "matakota-db")  # CloudNativePG writes matakota-db-app with key uri
    assert cluster["spec"]["bootstrap"]["initdb"] == {"database": "matakota", "owner": "matakota"}


def test_the_check_fails_on_a_pod_local_sqlite_file():
    docs = tuple({**d, "data": {"matakota.yaml": "store: {url: /opt/matakota/matakota.db}\n"}}
                 if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "matakota-config" else d
                 for d in build("dev"))
    assert store_problems(docs) == ["store.url is a pod-local file: take it from a Secret (store.url_env)"]


def test_production_runs_three_instances_with_continuous_backup():
    docs = build("production")
    cluster = one(docs, "Cluster", "matakota-db")["spec"]
    assert cluster["instances"] == 3 and cluster["minSyncReplicas"] >= 1
    assert cluster["backup"]["barmanObjectStore"]["destinationPath"].startswith("s3://")
    assert cluster["backup"]["retentionPolicy"] == "30d"
    [nightly] = of_kind(docs, "ScheduledBackup")
    assert nightly["spec"]["cluster"]["name"] == "matakota-db" and len(nightly["spec"]["schedule"].split()) == 6


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_an_external_postgres_replaces_cloudnativepg_with_your_own_secret(overlay):
    docs = build(overlay, ("external-postgres",))
    assert not of_kind(docs, "Cluster") and not of_kind(docs, "ScheduledBackup")
    assert "matakota-db" not in {p["metadata"]["name"] for p in of_kind(docs, "NetworkPolicy")}
    assert not store_problems(docs)  # still from Secret matakota-db-app, key uri: the one you create
