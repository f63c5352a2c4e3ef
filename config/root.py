"""The root of the configuration tree: everything one matakota deployment needs (one YAML file)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from matakota.config.api import ApiConfig
from matakota.config.base import StrictModel
from matakota.config.detector import DetectorConfig
from matakota.config.fleet import FleetConfig
from matakota.config.outputs import OutputsConfig
from matakota.config.store import StoreConfig


class Config(StrictModel):
    """Everything one matakota deployment needs."""

    detector: DetectorConfig = DetectorConfig()
    api: ApiConfig = ApiConfig()
    fleet: FleetConfig = FleetConfig()
    store: StoreConfig = Field(default_factory=StoreConfig, description="where counts, events and snapshots are kept")
    outputs: OutputsConfig = Field(default_factory=OutputsConfig, description="MQTT and webhooks")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="log level")
