"""What KubeRay hands Ray Serve works with the real code: the import path, the fleet config, the overrides."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import ray
import yaml
from ray import serve
from ray.serve._private.application_state import override_deployment_info
from ray.serve._private.build_app import build_app
from ray.serve._private.deploy_utils import deploy_args_to_deployment_info
from ray.serve.schema import ServeApplicationSchema, ServeDeploySchema

from matakota.config import parse_config
from matakota.serve import app as app_module
from tests.k8s.manifests import CONFIG_PATH, OVERLAYS, build, fleet_config_text, of_kind, one, serve_config

SECRET_KEY = r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}"  # a valid Kubernetes Secret data key
REFERENCE = re.compile(r"^\$\{(" + SECRET_KEY + r")\}$")
USERINFO = re.compile(r"[a-z][a-z0-9+.-]*://([^/\s@]+)@", re.I)


def the_app(overlay: str) -> dict:
    [app] = ServeDeploySchema.model_validate(serve_config(one(build(overlay), "RayService"))).applications
    return app.model_dump(exclude_unset=True)


def deployed_infos(overlay: str, tmp_path) -> dict:
    """The deployments Serve would run: the app built from the ConfigMap's config, then serveConfigV2's overrides
    applied exactly as the Serve controller applies them."""
    config_file = tmp_path / "matakota.yaml"
    config_file.write_text(fleet_config_text(build(overlay)))
    schema = ServeApplicationSchema.model_validate({**the_app(overlay), "args": {"config": str(config_file)}})
    built = build_app(app_module.app_builder({"config": str(config_file)}), name=schema.name, default_runtime_env={})
    ray_was_up, infos = ray.is_initialized(), {}
    for deployment in built.deployments:  # what get_deploy_args sends the controller, without asking Ray
        infos[deployment.name] = deploy_args_to_deployment_info(
            deployment_name=deployment.name,
            deployment_config_proto_bytes=deployment._deployment_config.to_proto_bytes(),
            replica_config_proto_bytes=deployment._replica_config.to_proto_bytes(),
            deployer_job_id="tests",
            app_name=schema.name,
            ingress=deployment.name == built.ingress_deployment_name,
        )
    infos = override_deployment_info(infos, schema)
    assert ray.is_initialized() == ray_was_up, "checking the manifests must not start Ray"
    return infos


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_import_path_is_the_application_builder_and_args_name_the_mounted_config(overlay):
    app = the_app(overlay)
    module, attribute = app["import_path"].split(":")
    assert module == "matakota.serve.app" and getattr(app_module, attribute) is app_module.app_builder
    assert app["args"]["config"] == CONFIG_PATH
    assert app["name"] == "matakota", "shards find the Detector by this app name"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_configmap_config_builds_the_serve_application(overlay, tmp_path):
    path = tmp_path / "matakota.yaml"
    path.write_text(fleet_config_text(build(overlay)))
    assert isinstance(app_module.app_builder({"config": str(path), "revision": "1"}), serve.Application)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_configmap_config_validates_with_the_config_model(overlay):
    config = parse_config(yaml.safe_load(fleet_config_text(build(overlay))), f"{overlay} ConfigMap")
    assert config.api.host == "0.0.0.0", "Serve's proxy must listen on the pod's address"
    assert config.fleet.cameras and not config.fleet.allow_files


@pytest.mark.parametrize(("overlay", "gpus"), [("dev", 0), ("production", 1)])
def test_serve_overrides_apply_on_the_built_app(overlay, gpus, tmp_path):
    infos = deployed_infos(overlay, tmp_path)
    detector = infos["Detector"]
    config = parse_config(yaml.safe_load(fleet_config_text(build(overlay))))
    assert detector.replica_config.ray_actor_options["num_gpus"] == gpus == config.detector.num_gpus
    assert detector.replica_config.ray_actor_options["num_cpus"] == config.detector.num_cpus
    autoscaling = detector.deployment_config.autoscaling_config
    assert autoscaling.min_replicas >= 1 and autoscaling.max_replicas >= autoscaling.min_replicas
    # Serve caps a batch at max_ongoing_requests: it must be at least the batch size (docs/architecture.md).
    assert detector.deployment_config.max_ongoing_requests >= config.detector.max_batch_size
    assert detector.deployment_config.user_config["max_batch_size"] == config.detector.max_batch_size


def test_production_detector_replicas_fit_the_gpu_group(tmp_path):
    autoscaling = deployed_infos("production", tmp_path)["Detector"].deployment_config.autoscaling_config
    [gpu] = [g for g in one(build("production"), "RayService")["spec"]["rayClusterConfig"]["workerGroupSpecs"]
             if g["groupName"] == "gpu"]
    assert autoscaling.max_replicas <= gpu["maxReplicas"] * gpu["template"]["spec"]["containers"][0][
        "resources"]["limits"]["nvidia.com/gpu"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_values_in_configmaps(overlay):
    for configmap in of_kind(build(overlay), "ConfigMap"):
        for key, text in configmap.get("data", {}).items():
            where = f"ConfigMap {configmap['metadata']['name']}, {key}"
            assert "password" not in text.lower(), f"{where}: mentions a password"
            for userinfo in USERINFO.findall(text):
                assert REFERENCE.match(userinfo), f"{where}: URL userinfo must be a ${{NAME}} reference"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_camera_urls_reference_credentials_by_secret_key(overlay):
    config = parse_config(yaml.safe_load(fleet_config_text(build(overlay))))
    for camera in config.fleet.cameras:
        netloc = urlsplit(camera.url).netloc
        assert "@" in netloc and REFERENCE.match(netloc.rsplit("@", 1)[0]), camera.id


@pytest.mark.parametrize("text", [
    "url: rtsp://admin:hunter2@10.0.0.1/stream",
    "url: rtsp://admin@10.0.0.1/stream",
    "redis_password: x",
])
def test_secret_check_catches_credentials(text):
    leaks = "password" in text.lower() or any(not REFERENCE.match(u) for u in USERINFO.findall(text))
    assert leaks
