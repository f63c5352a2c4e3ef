"""The configuration tree: one strict base (`StrictModel`), one module per section, YAML loading with errors that
name file, YAML path and reason. Import from here: `from matakota.config import CameraConfig, load_config`."""

from matakota.config.analytics import CameraAnalyticsConfig, GaugeConfig
from matakota.config.api import OPENABLE_PATHS, ApiConfig
from matakota.config.base import ConfigError, StrictModel, error_reason, merge_patch
from matakota.config.camera import CameraConfig
from matakota.config.detector import PREFERRED_PROVIDERS, DetectorConfig
from matakota.config.fleet import FleetConfig, ShardConfig
from matakota.config.load import load_config, load_file, parse_config
from matakota.config.metrics import MetricsConfig
from matakota.config.outputs import MqttConfig, OutputsConfig, WebhookConfig
from matakota.config.reports import OpenDataConfig, PlanEntry, ReportsConfig, SitePlan
from matakota.config.root import Config
from matakota.config.store import StoreConfig, is_postgres_url
from matakota.config.video import DecodeConfig, DecodeMode, HwAccel, RtspTransport, SourceConfig

__all__ = [
    "OPENABLE_PATHS", "PREFERRED_PROVIDERS", "ApiConfig", "CameraAnalyticsConfig", "CameraConfig", "Config",
    "ConfigError", "DecodeConfig", "DecodeMode", "DetectorConfig", "FleetConfig", "GaugeConfig", "HwAccel",
    "MetricsConfig", "MqttConfig", "OpenDataConfig", "OutputsConfig", "PlanEntry", "ReportsConfig", "RtspTransport",
    "SitePlan", "ShardConfig", "SourceConfig", "StoreConfig", "StrictModel", "WebhookConfig",
    "error_reason", "is_postgres_url", "load_config", "load_file", "merge_patch", "parse_config",
]
