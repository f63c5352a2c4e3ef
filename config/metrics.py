"""`metrics:` where a local Ray serves its Prometheus metrics."""

from __future__ import annotations

from pydantic import Field

from matakota.config.base import StrictModel


class MetricsConfig(StrictModel):
    """Ray's Prometheus endpoint, every matakota metric prefixed `ray_` (docs/observability.md)."""

    port: int = Field(8080, ge=1, le=65535,
                      description="port a local Ray (serve, demo, up without --address) serves /metrics on; a "
                                  "cluster joined with --address keeps its own (ray start --metrics-export-port)")
