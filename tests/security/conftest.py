"""Fixtures for the security tests: a fresh password per run."""

from __future__ import annotations

import secrets

import pytest


@pytest.fixture(scope="session")
def secret() -> str:
    """A password no other test uses: any occurrence in logs or output came from this run's cameras."""
    return "pw-" + secrets.token_hex(10)
