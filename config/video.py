"""How a camera's video is read: its source (URL, transport, timeouts) and its decoding (keyframes or sampled)."""

from __future__ import annotations

from enum import Enum

from pydantic import Field, model_validator

from matakota.config.base import StrictModel
from matakota.core.redact import redact_url
from matakota.core.urls import SourceKind, credential_reference, parse_synthetic, source_kind


class DecodeMode(str, Enum):
    KEYFRAMES = "keyframes"  # the decoder skips non-key frames (cheapest; one frame per GOP)
    SAMPLED = "sampled"  # decode all, emit at `sample_fps` by stream timestamp
    ALL = "all"


class HwAccel(str, Enum):
    NONE = "none"  # FFmpeg's software decoders on the shard's CPUs
    CUDA = "cuda"  # NVDEC through PyAV's hwaccel API; frames are copied back to system memory


class DecodeConfig(StrictModel):
    """A camera's `decode:` section."""

    mode: DecodeMode = Field(default=DecodeMode.SAMPLED)
    sample_fps: float = Field(default=5.0, gt=0, le=240, description="emitted rate in `sampled` mode")
    max_width: int | None = Field(default=None, ge=16, description="downscale to fit, keeping aspect")
    max_height: int | None = Field(default=None, ge=16)
    decoder_threads: int = Field(default=1, ge=0, description="0 = FFmpeg's choice (AUTO threading)")
    stall_timeout_s: float = Field(default=10.0, gt=0, description="no decoded frame this long → reconnect")
    hwaccel: HwAccel = Field(default=HwAccel.NONE, description="`cuda`: decode on the GPU's NVDEC (needs an NVIDIA "
                             "GPU and driver); a camera whose device cannot be opened decodes on the CPU, with a "
                             "warning")


class RtspTransport(str, Enum):
    TCP = "tcp"
    UDP = "udp"


class SourceConfig(StrictModel):
    """Where a reader takes its video from (built from a camera's config). Its repr and validation errors never
    show the password."""

    url: str = Field(description="rtsp(s)://, http(s)://, or (with allow_files) file://, a path, asset:NAME or "
                                 "synthetic://")
    allow_files: bool = Field(default=False, description="accept local files (demos, benchmarks)")
    loop: bool = Field(default=False, description="files: start again at the end")
    paced: bool = Field(default=True, description="files: emit at the native frame rate (stream timestamps)")
    rtsp_transport: RtspTransport = Field(default=RtspTransport.TCP)
    open_timeout_s: float = Field(default=5.0, gt=0, description="connect + probe deadline")
    read_timeout_s: float = Field(default=5.0, gt=0, description="deadline of one blocking read")
    probe_s: float = Field(default=0.5, gt=0, description="how long FFmpeg may analyse a live stream on open")

    @model_validator(mode="after")
    def _check_scheme(self) -> SourceConfig:
        source_kind(self.url, self.allow_files)
        credential_reference(self.url)
        return self

    @property
    def kind(self) -> SourceKind:
        return source_kind(self.url, self.allow_files)

    @property
    def redacted_url(self) -> str:
        return redact_url(self.url)

    @property
    def detect(self) -> bool:
        """Whether this camera's frames go to the Detector (only a `synthetic://…?detect=0` camera's do not)."""
        return self.kind is not SourceKind.SYNTHETIC or parse_synthetic(self.url).detect

    def __repr_args__(self):
        for name, value in super().__repr_args__():
            yield name, (redact_url(value) if name == "url" else value)
