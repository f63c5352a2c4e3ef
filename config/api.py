"""`api:` the HTTP API ingress."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator, model_validator

from matakota.config.base import StrictModel

# Paths that `open_paths` may open (served without a token); everything else always needs one.
OPENABLE_PATHS = ("/healthz",)


class ApiConfig(StrictModel):
    """The HTTP API ingress."""

    host: str = Field("127.0.0.1", description="address the HTTP proxy binds (0.0.0.0 in containers)")
    port: int = Field(8000, ge=1, le=65535, description="HTTP port")
    max_body_bytes: int = Field(8 << 20, ge=1024, description="largest accepted request body (413 above)")
    max_image_pixels: int = Field(40_000_000, ge=1, description="largest accepted image, width × height (413 above)")
    num_replicas: int = Field(1, ge=1, description="API ingress replicas")
    open_paths: tuple[Literal[OPENABLE_PATHS], ...] = Field(
        OPENABLE_PATHS, description="paths served without a token; () makes /healthz need a read token too"
    )
    allow_anonymous: bool = Field(False, description="serve without MATAKOTA_TOKENS_FILE on an address other machines "
                                                     "reach (then anyone who reaches it is admin); refused otherwise")
    max_sse_clients: int = Field(32, ge=1, le=10_000,
                                 description="open streams per replica: events and camera live views (503 beyond)")
    max_live_viewers_per_camera: int = Field(4, ge=1, le=1000, description="live views of one camera per replica")
    max_ongoing_requests: int = Field(256, ge=1, description="requests one API replica handles at once")
    map_tiles: str | None = Field(
        None, pattern=r"^https?://[^\s\"'<>]+$",
        description="the city's map tile server for the camera map, e.g. https://tiles.example/{z}/{x}/{y}.png "
                    "(none: cameras on a plain projection; nothing is ever fetched from elsewhere)")
    max_queued_requests: int = Field(1024, ge=-1, description="requests queued before 503 + Retry-After (-1: no cap)")

    @property
    def loopback_only(self) -> bool:
        """Whether only this machine can reach the API."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @field_validator("map_tiles")
    @classmethod
    def _tile_template(cls, value: str | None) -> str | None:
        if value is not None and not all(part in value for part in ("{z}", "{x}", "{y}")):
            raise ValueError("must hold {z}, {x} and {y}")
        return value

    @property
    def tiles_origin(self) -> str | None:
        """scheme://host[:port] of the tile server (what the page's Content-Security-Policy allows)."""
        if self.map_tiles is None:
            return None
        scheme, _, rest = self.map_tiles.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"

    @model_validator(mode="after")
    def _streams_leave_room(self) -> ApiConfig:
        if self.max_sse_clients >= self.max_ongoing_requests:
            raise ValueError("max_sse_clients must be below max_ongoing_requests (each open stream holds a request)")
        return self
