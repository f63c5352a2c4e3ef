"""Start or join Ray, and deploy the Serve application on it."""

from __future__ import annotations

import logging

import ray
from ray import serve

from matakota.cluster.config import Config
from matakota.serve.app import build_app

APP_NAME = "matakota"
NAMESPACE = "matakota"
log = logging.getLogger(__name__)


def start_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Join the cluster at `address`, or start a local one (dashboard off: it runs any code sent to it)."""
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, namespace=NAMESPACE, log_to_driver=False)
    else:
        ray.init(num_cpus=num_cpus, namespace=NAMESPACE, include_dashboard=False, log_to_driver=False)


def deploy(config: Config):
    """Deploy (or update) the application and wait until it is running; returns the API ingress handle."""
    serve.start(
        http_options={"host": config.api.host, "port": config.api.port},
        logging_config={"enable_access_log": False},
    )
    return serve.run(
        build_app(config),
        name=APP_NAME,
        route_prefix="/",
        blocking=False,
        logging_config={"enable_access_log": False, "log_level": config.log_level},
    )


def detector_handle():
    return serve.get_deployment_handle("Detector", app_name=APP_NAME)


def shutdown() -> None:
    if ray.is_initialized():
        serve.shutdown()
        ray.shutdown()
