"""The kustomize overlays build, and every resource is valid for the API server that will receive it."""

from __future__ import annotations

import jsonschema
import kubernetes_validate
import pytest

from tests.k8s.manifests import (
    CRD_FILES,
    OVERLAYS,
    build,
    crd_schema,
    group_of,
    of_kind,
    one,
    pod_templates,
    unknown_fields,
)

KUBERNETES_VERSION = "1.30.0"  # oldest Kubernetes the manifests must work on


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_builds_one_rayservice_with_its_config(overlay):
    docs = build(overlay)
    assert one(docs, "RayService", "matakota")
    assert one(docs, "ConfigMap", "matakota-config")
    assert {d["metadata"]["namespace"] for d in docs} == {f"matakota-{overlay}" if overlay == "dev" else "matakota"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_core_resources_validate_against_the_kubernetes_schema(overlay):
    core = [d for d in build(overlay) if (group_of(d), d["kind"]) not in CRD_FILES]
    assert core, "no core resources built"
    for doc in core:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {error.message} at {list(error.path)}")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_validate_against_their_crd(overlay):
    custom = [d for d in build(overlay) if (group_of(d), d["kind"]) in CRD_FILES]
    assert custom
    for doc in custom:
        schema = crd_schema(group_of(doc), doc["kind"], doc["apiVersion"].split("/")[1])
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, f"{doc['kind']}/{doc['metadata']['name']}: " + "; ".join(
            f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors)
        # A misspelt field is valid JSON Schema but silently dropped by the API server.
        assert not unknown_fields(doc, schema), f"{doc['kind']}: fields the CRD does not know"


def test_unknown_field_check_catches_a_misspelt_field():
    schema = crd_schema("ray.io", "RayService", "v1")
    doc = {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "x"},
           "spec": {"upgradeStratgy": {"type": "None"}, "rayClusterConfig": {"headGroupSpec": {}}}}
    assert unknown_fields(doc, schema) == [".spec.upgradeStratgy"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_generated(overlay):
    docs = build(overlay)
    assert not of_kind(docs, "Secret")
    rayservice = one(docs, "RayService")
    referenced = {v["secret"]["secretName"] for spec in pod_templates(rayservice).values()
                  for v in spec.get("volumes", []) if "secret" in v}
    assert {"matakota-api-tokens", "matakota-camera-credentials"} <= referenced


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ray_container_comes_first_and_every_pod_mounts_the_config(overlay):
    rayservice = one(build(overlay), "RayService")
    for group, spec in pod_templates(rayservice).items():
        ray_container = spec["containers"][0]
        assert ray_container["name"].startswith("ray-"), f"{group}: KubeRay takes the first container as Ray's"
        mounts = {m["mountPath"]: m["name"] for m in ray_container["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes[mounts["/etc/matakota"]]["configMap"]["name"] == "matakota-config", group
        assert {"name": "metrics", "containerPort": 8080} in ray_container["ports"], group
        assert spec["securityContext"]["runAsNonRoot"] is True, group


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ray_token_auth_is_on_and_upgrades_never_rebuild_the_cluster(overlay):
    spec = one(build(overlay), "RayService")["spec"]
    assert spec["rayClusterConfig"]["authOptions"] == {"mode": "token", "secretName": "matakota-ray-auth"}
    assert spec["upgradeStrategy"] == {"type": "None"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_fleet_sidecar_starts_the_fleet_without_owning_serve(overlay):
    head = pod_templates(one(build(overlay), "RayService"))["head"]
    [fleet] = [c for c in head["containers"] if c["name"] == "fleet"]
    command = fleet["command"]
    assert command[:3] == ["matakota", "up", "/etc/matakota/matakota.yaml"]
    assert {"--no-deploy", "--detach"} <= set(command)
    assert command[command.index("--address") + 1] == "ray://127.0.0.1:10001"
    env = {e["name"]: e for e in fleet["env"]}
    assert env["RAY_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "matakota-ray-auth"


def test_production_has_gpu_detectors_autoscaled_cpu_shards_and_gcs_fault_tolerance():
    cluster = one(build("production"), "RayService")["spec"]["rayClusterConfig"]
    groups = {g["groupName"]: g for g in cluster["workerGroupSpecs"]}
    assert list(groups) == ["cpu", "gpu"], "gpu is appended last so adding it is an in-place update"
    gpu = groups["gpu"]["template"]["spec"]
    assert gpu["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in gpu["tolerations"]
    assert "-gpu" in gpu["containers"][0]["image"]
    assert cluster["enableInTreeAutoscaling"] is True
    assert groups["cpu"]["minReplicas"] < groups["cpu"]["maxReplicas"]
    ft = cluster["gcsFaultToleranceOptions"]
    assert ft["redisAddress"]
    assert ft["redisPassword"]["valueFrom"]["secretKeyRef"] == {"name": "matakota-redis", "key": "password"}
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"


def test_production_includes_the_monitoring_component():
    docs = build("production")
    assert one(docs, "PodMonitor")
    assert one(docs, "PrometheusRule")
    dashboard = one(docs, "ConfigMap", "matakota-grafana-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"


def test_dev_is_cpu_only_and_fixed_size():
    docs = build("dev")
    cluster = one(docs, "RayService")["spec"]["rayClusterConfig"]
    assert cluster["enableInTreeAutoscaling"] is False
    assert "gcsFaultToleranceOptions" not in cluster
    for group in cluster["workerGroupSpecs"]:
        assert group["replicas"] == group["maxReplicas"] == 1
        assert "nvidia.com/gpu" not in group["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert not of_kind(docs, "PodMonitor")
