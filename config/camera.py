"""A camera: where its video comes from, how it is decoded, and what is analysed (`fleet.cameras[]`)."""

from __future__ import annotations

from enum import Enum

from pydantic import Field

from matakota.config.analytics import CameraAnalyticsConfig
from matakota.config.base import StrictModel
from matakota.config.video import DecodeConfig, DecodeMode, RtspTransport, SourceConfig
from matakota.core.redact import redact_url

CAMERA_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class Category(str, Enum):
    TRAFFIC = "traffic"
    PUBLIC_SPACE = "public_space"
    RIVER = "river"
    TOURISM = "tourism"
    PRIVATE = "private"
    OTHER = "other"


class ClipConfig(StrictModel):
    before_s: float = Field(5.0, ge=0.0, le=60.0, description="seconds of video before the event's moment")
    after_s: float = Field(5.0, ge=1.0, le=60.0, description="seconds of video after it")

    @property
    def keep_s(self) -> float:
        """Seconds of packets a camera keeps: the clip, and a GOP of margin to start on a keyframe."""
        return self.before_s + self.after_s + 4.0


class Location(StrictModel):
    lat: float = Field(ge=-90, le=90, description="latitude, WGS 84 degrees")
    lon: float = Field(ge=-180, le=180, description="longitude, WGS 84 degrees")


class CameraConfig(StrictModel):
    """One camera: where its video comes from, how it is decoded, and what is analysed."""

    id: str = Field(pattern=CAMERA_ID, description="unique camera id (letters, digits, _ . -)")
    site: str = Field("default", pattern=CAMERA_ID, description="site the camera belongs to (e.g. simpang-lima)")
    owner: str = Field("city", pattern=CAMERA_ID,
                       description="who owns the camera (an agency, district, hotel…): tokens may be limited to owners")
    category: Category = Field(Category.OTHER, description="traffic, public_space, river, tourism, private or other")
    address: str = Field("", max_length=200, description="street address, for people")
    location: Location | None = Field(None, description="{lat, lon} where the camera stands")
    clip: ClipConfig | None = Field(default_factory=ClipConfig,
                                    description="an MP4 clip around each alarm, cut from the stream's packets "
                                                "(no re-encode); null: none")
    url: str = Field(repr=False, description="rtsp(s)://, http(s)://, or a file path (demos, with fleet.allow_files)")
    rtsp_transport: RtspTransport = Field(RtspTransport.TCP, description="RTSP over tcp or udp")
    decode: DecodeConfig = Field(
        default_factory=DecodeConfig,
        description="keyframes, sampled or all; downscale. In a fleet, `sampled` samples at analytics.fps",
    )
    analytics: CameraAnalyticsConfig = Field(default_factory=CameraAnalyticsConfig, description="zones, lines, rules")

    @property
    def location_json(self) -> dict | None:
        return None if self.location is None else self.location.model_dump()

    @property
    def redacted_url(self) -> str:
        return redact_url(self.url)

    def source(self, allow_files: bool) -> SourceConfig:
        """The reader's source; local files stand for live cameras (looped, paced at their frame rate).
        `asset:NAME` names a demo clip of the asset manifest (fetched or taken from the mirror when opened)."""
        return SourceConfig(url=self.url, allow_files=allow_files, loop=True, paced=True,
                            rtsp_transport=self.rtsp_transport)

    @property
    def clip_packets_s(self) -> float:
        """Seconds of packets its reader keeps for alarm clips: none where nothing raises alarms (a camera that only
        counts), which at 1080p and 4 Mbit/s saves 7 MiB a camera."""
        raises_alarms = bool(self.analytics.rules) or self.analytics.gauge is not None
        return self.clip.keep_s if self.clip is not None and raises_alarms else 0.0

    def decoding(self) -> DecodeConfig:
        """How a fleet decodes it: in `sampled` mode the sampling rate is the analysis rate."""
        if self.decode.mode is DecodeMode.SAMPLED:
            return self.decode.model_copy(update={"sample_fps": self.analytics.fps})
        return self.decode
