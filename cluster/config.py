"""The configuration tree (pydantic), loadable from YAML with errors that name file, YAML path and reason."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from matakota.actors.decode import DecodeConfig
from matakota.actors.redact import redact_url
from matakota.actors.sources import RtspTransport, SourceConfig
from matakota.analytics.config import CameraAnalyticsConfig
from matakota.analytics.detections import DEFAULT_CLASSES
from matakota.cluster.outputs.config import OutputsConfig
from matakota.cluster.store.config import StoreConfig
from matakota.models.runtime import PREFERRED_PROVIDERS

CAMERA_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
ASSET_SCHEME = "asset:"


class StrictModel(BaseModel):
    # Inputs are kept out of error messages: camera URLs carry passwords.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class DetectorConfig(StrictModel):
    """The Detector deployment: model, thresholds, batching and resources."""

    model: str = Field("yolox-nano", description="asset name (models/assets.toml) or a path to an ONNX file")
    score_threshold: float = Field(0.3, gt=0.0, lt=1.0, description="minimum obj × class score kept")
    iou_threshold: float = Field(0.45, gt=0.0, le=1.0, description="class-aware NMS IoU threshold")
    classes: tuple[int, ...] = Field(DEFAULT_CLASSES, min_length=1, description="COCO class ids to report")
    max_per_class: int = Field(100, ge=1, le=1000, description="detections kept per class and frame")
    providers: tuple[str, ...] = Field(PREFERRED_PROVIDERS, min_length=1, description="ONNX Runtime providers, preferred first")
    intra_op_threads: int = Field(0, ge=0, description="ONNX Runtime threads per inference (0: one per core)")
    max_batch_size: int = Field(16, ge=1, le=1024, description="most frames merged into one inference")
    batch_wait_timeout_s: float = Field(0.01, ge=0.0, le=1.0, description="how long a batch waits to fill")
    max_ongoing_requests: int = Field(64, ge=1, description="requests a replica accepts at once (≥ max_batch_size)")
    max_queued_requests: int = Field(256, ge=-1, description="requests queued in front of replicas before 503 (-1: no cap)")
    num_replicas: int = Field(1, ge=1, description="Detector replicas")
    num_cpus: float = Field(1.0, ge=0.0, description="CPUs reserved per replica")
    num_gpus: float = Field(0.0, ge=0.0, description="GPUs per replica (fractions share one GPU)")

    @field_validator("classes")
    @classmethod
    def _coco_ids(cls, classes: tuple[int, ...]) -> tuple[int, ...]:
        bad = [c for c in classes if not 0 <= c < 80]
        if bad:
            raise ValueError(f"COCO class ids are 0..79, got {bad}")
        return classes

    def batching(self) -> dict:
        """The Serve `user_config` that tunes batching at run time."""
        return {"max_batch_size": self.max_batch_size, "batch_wait_timeout_s": self.batch_wait_timeout_s}


class ApiConfig(StrictModel):
    """The HTTP API ingress."""

    host: str = Field("127.0.0.1", description="address the HTTP proxy binds (0.0.0.0 in containers)")
    port: int = Field(8000, ge=1, le=65535, description="HTTP port")
    max_body_bytes: int = Field(8 << 20, ge=1024, description="largest accepted request body (413 above)")
    max_image_pixels: int = Field(40_000_000, ge=1, description="largest accepted image, width × height (413 above)")
    num_replicas: int = Field(1, ge=1, description="API ingress replicas")
    open_paths: tuple[Literal["/healthz"], ...] = Field(
        ("/healthz",), description="paths served without a token; () makes /healthz need a read token too"
    )
    max_sse_clients: int = Field(32, ge=1, le=10_000, description="live-stream clients per replica (503 beyond)")
    max_ongoing_requests: int = Field(256, ge=1, description="requests one API replica handles at once")
    max_queued_requests: int = Field(1024, ge=-1, description="requests queued before 503 + Retry-After (-1: no cap)")

    @model_validator(mode="after")
    def _streams_leave_room(self) -> ApiConfig:
        if self.max_sse_clients >= self.max_ongoing_requests:
            raise ValueError("max_sse_clients must be below max_ongoing_requests (each open stream holds a request)")
        return self


class CameraConfig(StrictModel):
    """One camera: where its video comes from, how it is decoded, and what is analysed."""

    id: str = Field(pattern=CAMERA_ID, description="unique camera id (letters, digits, _ . -)")
    site: str = Field("default", pattern=CAMERA_ID, description="site the camera belongs to (e.g. simpang-lima)")
    url: str = Field(repr=False, description="rtsp(s)://, http(s)://, or a file path (demos, with fleet.allow_files)")
    rtsp_transport: RtspTransport = Field(RtspTransport.TCP, description="RTSP over tcp or udp")
    decode: DecodeConfig = Field(
        default_factory=DecodeConfig,
        description="keyframes, sampled or all; downscale. In a fleet, `sampled` samples at analytics.fps",
    )
    analytics: CameraAnalyticsConfig = Field(default_factory=CameraAnalyticsConfig, description="zones, lines, rules")

    @property
    def redacted_url(self) -> str:
        return redact_url(self.url)

    def source(self, allow_files: bool) -> SourceConfig:
        """The reader's source; local files stand for live cameras (looped, paced at their frame rate).

        `asset:NAME` names a demo clip from the asset manifest (fetched or taken from the mirror).
        """
        url = self.url
        if allow_files and url.startswith(ASSET_SCHEME):
            from matakota.cluster.assets import fetch

            url = str(fetch(url.removeprefix(ASSET_SCHEME)))
        return SourceConfig(url=url, allow_files=allow_files, loop=True, paced=True, rtsp_transport=self.rtsp_transport)


class ShardConfig(StrictModel):
    """CameraShard actors: how many cameras each owns and how they feed the Detector."""

    cameras_per_shard: int = Field(16, ge=1, le=1000, description="cameras per shard actor")
    tick_s: float = Field(0.05, gt=0.0, le=5.0, description="how often a shard sends its ready frames as one batch")
    max_inflight_batches: int = Field(2, ge=1, le=64, description="detector requests in flight per shard (backpressure)")
    frame_deadline_s: float = Field(2.0, gt=0.0, le=60.0, description="frames older than this are dropped, not analysed")
    num_cpus: float = Field(0.5, ge=0.0, description="CPUs reserved per shard actor")
    max_load: float = Field(0.8, gt=0.0, description="most estimated CPU seconds per second of cameras per shard")
    heartbeat_period_s: float = Field(1.0, gt=0.0, le=60.0, description="how often the supervisor polls shards")
    heartbeat_timeout_s: float = Field(5.0, gt=0.0, le=120.0, description="a heartbeat slower than this is missed")
    missed_heartbeats: int = Field(3, ge=1, le=100, description="missed heartbeats before a shard is replaced")
    start_timeout_s: float = Field(120.0, gt=0.0, le=3600.0,
                                   description="a new shard that has not answered a first heartbeat by then is replaced")
    rebalance_period_s: float = Field(60.0, gt=0.0, description="how often load is rebalanced")
    rebalance_tolerance: float = Field(0.25, gt=0.0, le=10.0, description="shards within mean × (1 ± this) are left alone")
    max_moves_per_round: int = Field(20, ge=0, le=10_000, description="most cameras moved per rebalance round")


class FleetConfig(StrictModel):
    """The cameras and the shards that run them."""

    allow_files: bool = Field(False, description="accept local video files as cameras (demos and tests only)")
    shards: ShardConfig = ShardConfig()
    cameras: list[CameraConfig] = Field(default_factory=list, description="the cameras")

    @model_validator(mode="after")
    def _unique_ids_and_allowed_sources(self) -> FleetConfig:
        seen: set[str] = set()
        for index, camera in enumerate(self.cameras):
            if camera.id in seen:
                raise ValueError(f"cameras[{index}].id: duplicate camera id {camera.id!r}")
            seen.add(camera.id)
            try:
                camera.source(self.allow_files)
            except ValueError as error:
                raise ValueError(f"cameras[{index}].url ({camera.redacted_url}): {error_reason(error)}") from None
        return self


def error_reason(error: ValueError) -> str:
    """A validation error as one line: `path: message; …`, never echoing the input."""
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{yaml_path(e['loc'])}: {e['msg'].removeprefix('Value error, ')}" if e["loc"] else
            e["msg"].removeprefix("Value error, ")
            for e in error.errors()
        )
    return str(error)


class Config(StrictModel):
    """Everything one matakota deployment needs."""

    detector: DetectorConfig = DetectorConfig()
    api: ApiConfig = ApiConfig()
    fleet: FleetConfig = FleetConfig()
    store: StoreConfig = Field(default_factory=StoreConfig, description="where counts, events and snapshots are kept")
    outputs: OutputsConfig = Field(default_factory=OutputsConfig, description="MQTT and webhooks")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="log level")


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file, the YAML path and the reason."""


def yaml_path(location: tuple) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def validate(model: type[BaseModel], data: object, source: str) -> BaseModel:
    """`data` as `model`, or one ConfigError listing every problem as `SOURCE: yaml.path: reason`."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as error:
        raise ConfigError("\n".join(_problem(source, e) for e in error.errors())) from None


def _problem(source: str, error: dict) -> str:
    reason = error["msg"].removeprefix("Value error, ")
    if not error["loc"] and error["type"] == "value_error":
        return f"{source}: {reason}"  # cross-field checks name their field themselves (`rules[0].zone: …`)
    return f"{source}: {yaml_path(error['loc'])}: {reason}"


def read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text())
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{path}: {where}invalid YAML: {getattr(error, 'problem', error)}") from None


def parse_config(data: object, source: str = "<config>") -> Config:
    return validate(Config, data, source)


def load_config(path: Path | str | None) -> Config:
    """Read a YAML config; `None` gives the defaults."""
    if path is None:
        return Config()
    return validate(Config, read_yaml(Path(path)), str(path))
