"""`store:` where counts, events and evidence snapshots are kept, and for how long."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import Field, field_validator

from matakota.config.base import ENV_NAME, StrictModel
from matakota.core.settings import settings

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def _default_url() -> str:
    return str(settings().home / "matakota.db")


class StoreConfig(StrictModel):
    """Where counts, events and their evidence images are kept, and for how long. On Kubernetes that is always
    PostgreSQL, its URL taken from a Secret through `url_env` (k8s/README.md); SQLite is the embedded demo's."""

    url: str = Field(
        default_factory=_default_url, repr=False,
        description="SQLite file path (or sqlite:///path), or a postgresql:// DSN. Keep passwords out of the "
                    "file: libpq reads PGPASSWORD / ~/.pgpass",
        examples=["~/.cache/matakota/matakota.db", "postgresql://matakota@db:5432/matakota"],
    )
    url_env: str | None = Field(
        None, pattern=ENV_NAME,
        description="environment variable holding the URL instead (a postgresql:// URI with its password, e.g. from "
                    "CloudNativePG's Secret NAME-app, key uri); read where the store is opened, never logged",
        examples=["MATAKOTA_STORE_URL"],
    )
    retention_days: float | None = Field(30.0, gt=0.0, le=3650.0,
                                         description="events, counts and snapshots older than this are pruned "
                                                     "(null: keep forever)")
    original_retention_days: float | None = Field(
        7.0, gt=0.0, le=3650.0,
        description="unblurred originals of evidence images (served to enforcement tokens only) are pruned after "
                    "this; the blurred images stay for retention_days (null: keep them as long)")
    case_retention_days: float | None = Field(
        90.0, gt=0.0, le=3650.0,
        description="parking violations' evidence packages (photos, plate, signed manifest) are kept this long, "
                    "apart from ordinary snapshots (null: keep forever)")
    prune_interval_s: float = Field(3600.0, ge=10.0, description="how often the EventSink prunes")
    rollup_interval_s: float = Field(60.0, ge=1.0, le=3600.0,
                                     description="how often the EventSink rolls up the hours whose counts changed")
    hourly_rollup_retention_days: float | None = Field(
        400.0, gt=0.0, le=36500.0,
        description="hourly roll-ups older than this are pruned; daily and monthly ones are kept (null: keep all)")

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        return store_url(url)

    def resolved_url(self, environ: Mapping[str, str] = os.environ) -> str:
        """The URL to open: from `url_env` when set (ValueError if that variable is unset or not a store URL)."""
        if self.url_env is None:
            return self.url
        url = environ.get(self.url_env, "")
        if not url:
            raise ValueError(f"store.url_env: {self.url_env} is not set in this process's environment")
        return store_url(url)

    @property
    def retention_s(self) -> float | None:
        return None if self.retention_days is None else self.retention_days * 86400.0

    @property
    def hourly_rollup_retention_s(self) -> float | None:
        days = self.hourly_rollup_retention_days
        return None if days is None else days * 86400.0

    @property
    def original_retention_s(self) -> float | None:
        return None if self.original_retention_days is None else self.original_retention_days * 86400.0

    @property
    def case_retention_s(self) -> float | None:
        return None if self.case_retention_days is None else self.case_retention_days * 86400.0

    @property
    def prunes(self) -> bool:
        return (self.retention_s is not None or self.original_retention_s is not None
                or self.case_retention_s is not None)

    @property
    def is_postgres(self) -> bool:
        return is_postgres_url(self.url)


def is_postgres_url(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


def store_url(url: str) -> str:
    """`url` if it names a store (ValueError naming only its scheme otherwise: URLs carry passwords)."""
    if "://" in url and not (is_postgres_url(url) or url.startswith("sqlite:///")):
        raise ValueError(f"url must be a file path, sqlite:///path or postgresql://… (got scheme "
                         f"{url.split('://', 1)[0]!r})")
    if not url.strip():
        raise ValueError("url must not be empty")
    return url
