"""`store:` where counts, events and evidence snapshots are kept, and for how long."""

from __future__ import annotations

from pydantic import Field, field_validator

from matakota.config.base import StrictModel
from matakota.core.settings import settings

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def _default_url() -> str:
    return str(settings().home / "matakota.db")


def _default_snapshot_dir() -> str:
    return str(settings().home / "snapshots")


class StoreConfig(StrictModel):
    """Where counts and events are kept, where evidence snapshots go, and for how long."""

    url: str = Field(
        default_factory=_default_url, repr=False,
        description="SQLite file path (or sqlite:///path), or a postgresql:// DSN. Keep passwords out of the "
                    "file: libpq reads PGPASSWORD / ~/.pgpass",
        examples=["~/.cache/matakota/matakota.db", "postgresql://matakota@db:5432/matakota"],
    )
    snapshot_dir: str = Field(default_factory=_default_snapshot_dir,
                              description="directory of evidence JPEGs ({event_id}.jpg, {event_id}-crop.jpg)")
    retention_days: float | None = Field(30.0, gt=0.0, le=3650.0,
                                         description="events, counts and snapshots older than this are pruned "
                                                     "(null: keep forever)")
    prune_interval_s: float = Field(3600.0, ge=10.0, description="how often the EventSink prunes")

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if "://" in url and not (is_postgres_url(url) or url.startswith("sqlite:///")):
            raise ValueError("url must be a file path, sqlite:///path or postgresql://… "
                             f"(got scheme {url.split('://', 1)[0]!r})")
        if not url.strip():
            raise ValueError("url must not be empty")
        return url

    @property
    def retention_s(self) -> float | None:
        return None if self.retention_days is None else self.retention_days * 86400.0

    @property
    def is_postgres(self) -> bool:
        return is_postgres_url(self.url)


def is_postgres_url(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)
