"""The bound Serve application: the API ingress holding a handle to the Detector.

KubeRay's `serveConfigV2` imports `matakota.serve.app:app_builder` with `args: {config: /path/to/matakota.yaml}`.
"""

from __future__ import annotations

import logging

from ray.serve import Application
from ray.serve.config import BackpressureConfig

from matakota.config import Config, load_config
from matakota.serve.auth import TokenFileError, configured_tokens
from matakota.serve.detector import Detector
from matakota.serve.ingress import Api

RETRY_AFTER_S = 1
log = logging.getLogger("matakota.api")


def build_app(config: Config) -> Application:
    """The bound graph. Reads the tokens file first (MATAKOTA_TOKENS_FILE): a bad one raises `TokenFileError`
    (a `ConfigError` naming file and line) before anything is deployed, and so does an API other machines could
    reach with no tokens at all, unless `api.allow_anonymous` says so."""
    tokens = configured_tokens()
    if tokens is None and not config.api.loopback_only:
        if not config.api.allow_anonymous:
            raise TokenFileError(f"api.host {config.api.host} is reachable from other machines but "
                                 "MATAKOTA_TOKENS_FILE is not set: every caller would be an admin. Set it (a file of "
                                 "`SCOPE TOKEN` lines), or api.allow_anonymous: true to serve it open anyway")
        log.warning("the API on %s accepts anyone as admin (api.allow_anonymous, no MATAKOTA_TOKENS_FILE)",
                    config.api.host)
    detector_config = config.detector
    detector = Detector.options(
        num_replicas=detector_config.num_replicas,
        max_ongoing_requests=max(detector_config.max_ongoing_requests, detector_config.max_batch_size),
        max_queued_requests=detector_config.max_queued_requests,
        ray_actor_options={"num_cpus": detector_config.num_cpus, "num_gpus": detector_config.num_gpus},
        user_config=detector_config.batching(),
    ).bind(detector_config.model_dump(mode="json"))
    api = Api.options(
        num_replicas=config.api.num_replicas,
        # Serve's default of 5 ongoing requests would let five open live streams starve every other call.
        max_ongoing_requests=config.api.max_ongoing_requests,
        max_queued_requests=config.api.max_queued_requests,
        # Serve's proxy answers 503 when the ingress's queue is full; this adds `Retry-After` to it.
        backpressure_config=BackpressureConfig(retry_after_s=RETRY_AFTER_S),
        ray_actor_options={"num_cpus": 0},
    )
    return api.bind(detector, config.api.model_dump(mode="json"), detector_config.model,
                    config.store.model_dump(mode="json"), tokens.current().export() if tokens is not None else None,
                    reports=config.reports.model_dump(mode="json"),
                    detector_config=detector_config.model_dump(mode="json"))


def app_builder(args: dict) -> Application:
    """Serve application builder: `args.config` names a YAML config file (defaults when absent)."""
    return build_app(load_config(args.get("config")))
