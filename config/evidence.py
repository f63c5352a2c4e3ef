"""`fleet.shards.evidence:` the secret that signs parking violations' evidence packages (analytics/case_evidence.py).

The key never sits in the config file: the config names the environment variable or the file (a mounted Secret)
that holds it, like the other secrets (webhooks' `secret_env`, the store's `url_env`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field

from matakota.config.base import ENV_NAME, StrictModel

MIN_KEY_BYTES = 16


class EvidenceKeyError(ValueError):
    """The evidence signing key is missing or unusable; the message names the config field and where it looked."""


class EvidenceConfig(StrictModel):
    key_env: str = Field("MATAKOTA_EVIDENCE_KEY", pattern=ENV_NAME,
                         description="environment variable holding the HMAC-SHA256 key that signs evidence manifests")
    key_file: Path | None = Field(None, description="file holding the key instead (e.g. a mounted Secret); wins "
                                                    "over key_env when set")
    key_id: str = Field("default", pattern=r"^[A-Za-z0-9_.-]{1,64}$",
                        description="name of the key, written in each manifest (for key rotation)")

    def key(self, environ: Mapping[str, str] = os.environ) -> bytes:
        """The key's bytes (surrounding whitespace stripped); EvidenceKeyError naming the field when unusable."""
        if self.key_file is not None:
            try:
                value = self.key_file.read_bytes().strip()
            except OSError as error:
                raise EvidenceKeyError(f"evidence.key_file: cannot read {self.key_file}: {error.strerror}") from None
            where = f"evidence.key_file {self.key_file}"
        else:
            value = environ.get(self.key_env, "").strip().encode()
            where = f"evidence.key_env {self.key_env}"
            if not value:
                raise EvidenceKeyError(f"{where} is not set in this process's environment")
        if len(value) < MIN_KEY_BYTES:
            raise EvidenceKeyError(f"{where}: the key must be at least {MIN_KEY_BYTES} bytes")
        return value
