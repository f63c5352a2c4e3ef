"""`fleet:` the cameras and the CameraShard actors that run them."""

from __future__ import annotations

from pydantic import Field, model_validator

from matakota.config.base import StrictModel, error_reason
from matakota.config.camera import CameraConfig
from matakota.config.evidence import EvidenceConfig


class ShardConfig(StrictModel):
    """CameraShard actors: how many cameras each owns and how they feed the Detector."""

    cameras_per_shard: int = Field(16, ge=1, le=1000, description="cameras per shard actor")
    tick_s: float = Field(0.05, gt=0.0, le=5.0, description="how often a shard sends its ready frames as one batch")
    max_inflight_batches: int = Field(2, ge=1, le=64,
                                      description="detector requests in flight per shard (backpressure)")
    frame_deadline_s: float = Field(2.0, gt=0.0, le=60.0,
                                    description="frames older than this are dropped, not analysed")
    num_cpus: float = Field(0.5, ge=0.0, description="CPUs reserved per shard actor")
    max_load: float = Field(0.8, gt=0.0, description="most estimated CPU seconds per second of cameras per shard")
    heartbeat_period_s: float = Field(1.0, gt=0.0, le=60.0, description="how often the supervisor polls shards")
    heartbeat_timeout_s: float = Field(5.0, gt=0.0, le=120.0, description="a heartbeat slower than this is missed")
    missed_heartbeats: int = Field(3, ge=1, le=100, description="missed heartbeats before a shard is replaced")
    start_timeout_s: float = Field(120.0, gt=0.0, le=3600.0,
                                   description="a new shard that has not answered a first heartbeat by then is replaced")
    rebalance_period_s: float = Field(60.0, gt=0.0, description="how often load is rebalanced")
    rebalance_tolerance: float = Field(0.25, gt=0.0, le=10.0,
                                       description="shards within mean × (1 ± this) are left alone")
    max_moves_per_round: int = Field(20, ge=0, le=10_000, description="most cameras moved per rebalance round")
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig,
                                     description="the key that signs parking violations' evidence packages")


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
