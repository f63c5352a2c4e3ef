"""Bearer tokens with scopes: `read` (everything that reads) and `admin` (camera changes; implies read).

`MATAKOTA_TOKENS_FILE` names a file of `SCOPE TOKEN` lines (in Kubernetes, a mounted Secret). Tokens are kept
only as SHA-256 digests and compared in constant time. Without the file the API is open (local runs), and
the API logs that once.

The file is read when the application is built (`serve/app.py`, every entry point: `serve`, `demo`, `up`, KubeRay's
`app_builder`): a bad file stops start-up with a `TokenFileError` naming the file and line. The digests travel to
the Api replicas as a constructor argument, so a replica enforces them even on a node whose environment lacks
the file; a replica whose own environment names a tokens file enforces that one too (never fails open).
"""


import hashlib
import hmac
import logging
from functools import lru_cache
from pathlib import Path

from fastapi import Depends, HTTPException, Request

from matakota.config import ConfigError
from matakota.core.settings import settings

log = logging.getLogger("matakota.auth")

SCOPES = {"read": {"read"}, "admin": {"read", "admin"}}
STREAM_PATH = "/v1/events/stream"


class TokenFileError(ConfigError):
    """A tokens file that cannot be used; names the file and line, never a token (the CLI exits 2 on it)."""


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class Tokens:
    def __init__(self, entries: list[tuple[str, bytes]]) -> None:
        self.entries = entries  # (scope, sha256 of token)

    @classmethod
    def parse(cls, text: str, source: str = "<tokens>") -> "Tokens":
        entries = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2 or parts[0] not in SCOPES:
                raise TokenFileError(f"{source}:{number}: expected `SCOPE TOKEN` with SCOPE one of {sorted(SCOPES)}")
            if len(parts[1]) < 16:
                raise TokenFileError(f"{source}:{number}: token too short (at least 16 characters)")
            entries.append((parts[0], _digest(parts[1])))
        if not entries:
            raise TokenFileError(f"{source}: no tokens (expected `SCOPE TOKEN` lines); every request would be refused")
        return cls(entries)

    def export(self) -> list[tuple[str, str]]:
        """(scope, hex digest) pairs: what the Api replicas are given (never the tokens themselves)."""
        return [(scope, digest.hex()) for scope, digest in self.entries]

    @classmethod
    def from_export(cls, pairs: list) -> "Tokens":
        return cls([(scope, bytes.fromhex(digest)) for scope, digest in pairs])

    def merged(self, other: "Tokens | None") -> "Tokens":
        return self if other is None else Tokens(self.entries + other.entries)

    def scopes_of(self, token: str) -> set[str]:
        digest = _digest(token)
        granted: set[str] = set()
        for scope, expected in self.entries:  # no early exit: the time taken does not depend on which matched
            if hmac.compare_digest(digest, expected):
                granted |= SCOPES[scope]
        return granted


@lru_cache(maxsize=1)
def configured_tokens() -> "Tokens | None":
    path: Path | None = settings().tokens_file
    if path is None:
        log.warning("MATAKOTA_TOKENS_FILE is not set: the API accepts requests without a token")
        return None
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise TokenFileError(f"{path}: cannot read the tokens file: {getattr(error, 'strerror', None) or error}") from None
    return Tokens.parse(text, str(path))


def active_tokens(request: Request) -> "Tokens | None":
    """The tokens the Api replica was started with (`app.state.tokens`), else this process's tokens file."""
    state = request.app.state
    return state.tokens if hasattr(state, "tokens") else configured_tokens()


def require(scope: str):
    """A FastAPI dependency: 401 without a valid bearer token, 403 when its scopes lack `scope`."""

    def check(request: Request) -> None:
        tokens = active_tokens(request)
        if tokens is None:
            return
        route = request.scope.get("route")
        if getattr(route, "path", None) in getattr(request.app.state, "open_paths", ()):
            return  # health, when the operator keeps it open (api.open_paths)
        header = request.headers.get("authorization", "")
        kind, _, token = header.partition(" ")
        if not header and request.url.path == STREAM_PATH and "access_token" in request.query_params:
            # browsers' EventSource cannot send headers: the live stream (only) takes ?access_token= instead
            kind, token = "bearer", request.query_params["access_token"]
        if kind.lower() != "bearer" or not token:
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        granted = tokens.scopes_of(token.strip())
        if not granted:
            raise HTTPException(401, "invalid token", headers={"WWW-Authenticate": "Bearer"})
        if scope not in granted:
            raise HTTPException(403, f"this token lacks the {scope!r} scope")

    return check


READ = [Depends(require("read"))]  # route dependencies: `@router.get(..., dependencies=READ)`
ADMIN = [Depends(require("admin"))]
