"""The bound Serve application: the API ingress holding a handle to the Detector.

KubeRay's `serveConfigV2` imports `matakota.serve.app:app_builder` with `args: {config: /path/to/matakota.yaml}`.
"""

from __future__ import annotations

from ray.serve import Application

from matakota.cluster.config import Config, load_config
from matakota.serve.api import Api
from matakota.serve.detector import Detector


def build_app(config: Config) -> Application:
    detector_config = config.detector
    detector = Detector.options(
        num_replicas=detector_config.num_replicas,
        max_ongoing_requests=max(detector_config.max_ongoing_requests, detector_config.max_batch_size),
        max_queued_requests=detector_config.max_queued_requests,
        ray_actor_options={"num_cpus": detector_config.num_cpus, "num_gpus": detector_config.num_gpus},
        user_config=detector_config.batching(),
    ).bind(detector_config.model_dump(mode="json"))
    api = Api.options(num_replicas=config.api.num_replicas, ray_actor_options={"num_cpus": 0})
    return api.bind(detector, config.api.model_dump(mode="json"), detector_config.model,
                    config.store.model_dump(mode="json"))


def app_builder(args: dict) -> Application:
    """Serve application builder: `args.config` names a YAML config file (defaults when absent)."""
    return build_app(load_config(args.get("config")))
