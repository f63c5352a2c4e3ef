"""The Api deployment: the HTTP ingress replica, holding a handle to the Detector (Ray Serve)."""

from __future__ import annotations

from fastapi import FastAPI
from ray import serve
from ray.serve.handle import DeploymentHandle

from matakota.config import ApiConfig, DetectorConfig, ReportsConfig, StoreConfig
from matakota.core.names import API_NAME
from matakota.serve.api import create_app
from matakota.serve.auth import Tokens, configured_tokens
from matakota.serve.routes.events import SinkFeed
from matakota.store import open_store


@serve.deployment(name=API_NAME)
@serve.ingress()
class Api:
    def __init__(self, detector: DeploymentHandle, config: dict, model_name: str, store: dict,
                 tokens: list | None = None, reports: dict | None = None, detector_config: dict | None = None) -> None:
        self.detector = detector
        self.config = ApiConfig.model_validate(config)
        self.model_name = model_name
        # Tokens are loaded now, not on the first request: a bad tokens file fails the replica's start-up.
        # `tokens` are the grants the application builder read; this replica's own file (if any) is what counts
        # where there is one (re-read when it changes).
        own = configured_tokens()
        self.tokens = own if own is not None or tokens is None else Tokens.from_export(tokens)
        store_config = StoreConfig.model_validate(store)
        self.store = open_store(store_config.resolved_url())
        self.reports = ReportsConfig.model_validate(reports or {})
        self.detector_config = DetectorConfig.model_validate(detector_config or {})

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_app(self.config, store=self.store, detector=self.detector, model_name=self.model_name,
                          tokens=self.tokens, event_feed=SinkFeed(), reports=self.reports,
                          detector_config=self.detector_config)
