"""Environment variables, read once, in one place."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    asset_mirror: Path | None = Field(
        None, description="MATAKOTA_ASSET_MIRROR: a directory holding the asset files (air-gapped installs)"
    )
    home: Path = Field(
        Path.home() / ".cache" / "matakota",
        description="MATAKOTA_HOME: where fetched assets and prepared models are kept",
    )
    credentials_dir: Path = Field(
        Path("/var/run/secrets/matakota/credentials"),
        description="MATAKOTA_CREDENTIALS_DIR: files named after camera URLs' ${NAME}, each holding user:password",
    )
    tokens_file: Path | None = Field(
        None, description="MATAKOTA_TOKENS_FILE: lines of `SCOPE TOKEN` (read, admin); when set, the API needs them"
    )

    @classmethod
    def from_env(cls, environ=os.environ) -> Settings:
        values = {
            "asset_mirror": environ.get("MATAKOTA_ASSET_MIRROR") or None,
            "tokens_file": environ.get("MATAKOTA_TOKENS_FILE") or None,
        }
        for field, variable in (("home", "MATAKOTA_HOME"), ("credentials_dir", "MATAKOTA_CREDENTIALS_DIR")):
            if environ.get(variable):
                values[field] = environ[variable]
        return cls(**values)

    @property
    def asset_dir(self) -> Path:
        return self.home / "assets"


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()
