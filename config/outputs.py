"""`outputs:` where events go besides the store. Secrets are never in the file:
a webhook names the environment variable that holds its signing secret. Plates are never sent unless a webhook
target asks for them (`plates: true`, HTTPS only); MQTT never carries them."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import Field, ValidationInfo, field_validator

from matakota.config.base import ENV_NAME, StrictModel
from matakota.core.events import EventType


class MqttConfig(StrictModel):
    """Alarms to an MQTT broker (sirens, IoT boards). Topics: see matakota.outputs.mqtt."""

    enabled: bool = Field(False, description="publish events and camera status to MQTT")
    host: str = Field("127.0.0.1", min_length=1, description="broker host")
    port: int = Field(1883, ge=1, le=65535, description="broker port")
    prefix: str = Field("matakota", pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$",
                        description="topic prefix, e.g. matakota/semarang (no wildcards, no leading /)")
    qos: int = Field(1, ge=0, le=2, description="QoS of event messages (1: at least once)")
    client_id: str = Field("", max_length=64, description="MQTT client id ('' → matakota-sink-<random>)")
    username: str | None = Field(None, description="broker user name")
    password_env: str | None = Field(None, pattern=ENV_NAME, description="env var holding the broker password")
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keepalive")
    max_buffered: int = Field(10_000, ge=1, le=60_000,
                              description="messages held while the broker is away; beyond this they are dropped")
    reconnect_min_s: float = Field(1.0, gt=0.0, le=60.0, description="first reconnect delay (doubles)")
    reconnect_max_s: float = Field(30.0, gt=0.0, le=600.0, description="longest reconnect delay")


class WebhookConfig(StrictModel):
    """One HTTP target; the JSON body is signed with HMAC-SHA256 in `X-Matakota-Signature: sha256=<hex>`."""

    url: str = Field(repr=False, description="http(s) URL that receives POSTed events")
    event_types: tuple[EventType, ...] = Field((), description="event types sent here (empty: all)")
    secret_env: str | None = Field(None, pattern=ENV_NAME,
                                   description="env var holding the HMAC secret (unsigned when null)")
    timeout_s: float = Field(5.0, gt=0.0, le=60.0, description="per-request timeout")
    max_attempts: int = Field(5, ge=1, le=20, description="attempts before an event is dead-lettered")
    backoff_base_s: float = Field(0.5, gt=0.0, le=60.0, description="first retry delay (doubles, full jitter)")
    backoff_cap_s: float = Field(30.0, gt=0.0, le=600.0, description="longest retry delay")
    queue_size: int = Field(1000, ge=1, le=100_000, description="events waiting for this target; beyond: dropped")
    plates: bool = Field(False, description="send parking violations with their plates (the transport agency's "
                                            "endpoint; https:// and secret_env only); otherwise plates are left out")

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("webhook url must start with http:// or https://")
        return url

    @field_validator("plates")
    @classmethod
    def _plates_over_tls_and_signed(cls, plates: bool, info: ValidationInfo) -> bool:
        url = info.data.get("url")  # absent when the url itself was refused
        if plates and url is not None and not url.startswith("https://"):
            raise ValueError("plates are sent over https:// only: this webhook's url is not https")
        if plates and "secret_env" in info.data and info.data["secret_env"] is None:  # absent: refused itself
            raise ValueError("plates are sent signed only: set secret_env (the receiver checks X-Matakota-Signature)")
        return plates

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in {t.value for t in self.event_types}

    def secret(self, environ: Mapping[str, str] = os.environ) -> bytes | None:
        """The signing secret, read from the environment once when the dispatcher starts."""
        if self.secret_env is None:
            return None
        value = environ.get(self.secret_env)
        if not value:
            raise ValueError(f"webhook secret_env {self.secret_env} is not set in the environment")
        return value.encode()


class OutputsConfig(StrictModel):
    """Where events go besides the store."""

    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="MQTT broker")
    webhooks: tuple[WebhookConfig, ...] = Field((), description="HTTP webhook targets")
    sse_buffer: int = Field(1000, ge=10, le=100_000, description="recent events kept for Server-Sent Events")
