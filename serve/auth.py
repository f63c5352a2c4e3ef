"""Bearer tokens: who calls (a name), what they may do (scopes) and which cameras they reach (owners, sites).

`MATAKOTA_TOKENS_FILE` names a file (in Kubernetes, a mounted Secret) of lines

    SCOPES TOKEN [name=NAME] [owners=A,B] [sites=X,Y] [expires=2027-06-30 | 2027-06-30T18:00+07:00]

SCOPES is one or more of `read`, `operator`, `enforcement`, `admin`, comma-separated: `read` reads counts, events,
levels and (blurred) images; `operator` also handles alarms; `enforcement` also sees unblurred evidence; `admin`
changes cameras and reads the audit log (it implies read and operator, not enforcement). A token limited to owners
and/or sites reaches only their cameras: every other camera is, to it, unknown (404). `expires` is an ISO-8601
time (a date alone: the end of that day, UTC). Today's two-field `SCOPE TOKEN` lines keep working (named
`line N`). Tokens are kept only as SHA-256 digests and compared in constant time. Without the file the API is open
(local runs: the caller is `anonymous` with every scope), and the API logs that once.

The file is read when the application is built (`serve/app.py`, every entry point): a bad file stops start-up with a
`TokenFileError` naming the file and line. The digests travel to the Api replicas as a constructor argument, so a
replica enforces them even on a node whose environment lacks the file. Where a replica's own environment names the
file, the file is what counts, and it is re-read when it changes (rotation without a restart: Kubernetes updates a
mounted Secret in place); a change that does not parse is logged and ignored (the previous tokens stay).
"""


import hashlib
import hmac
import logging
import os
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from fastapi import Depends, HTTPException, Request

from matakota.config import ConfigError
from matakota.core.settings import settings
from matakota.serve.audit_trail import record_use

log = logging.getLogger("matakota.auth")

SCOPES = {"read": {"read"}, "operator": {"read", "operator"}, "enforcement": {"read", "enforcement"},
          "admin": {"read", "operator", "admin"}}
ALL_SCOPES = frozenset().union(*SCOPES.values())
OPTIONS = ("name", "owners", "sites", "expires")
AUDITED = frozenset({"admin", "enforcement"})  # every use of an endpoint needing these is in the audit log
STREAM_PATH = "/v1/events/stream"
RELOAD_CHECK_S = 1.0  # how often a request may look at the tokens file's modification time


class TokenFileError(ConfigError):
    """A tokens file that cannot be used; names the file and line, never a token (the CLI exits 2 on it)."""


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's name (never the token), its scopes, and the owners/sites it is limited to
    (None: not limited)."""

    name: str
    scopes: frozenset[str]
    owners: frozenset[str] | None = None
    sites: frozenset[str] | None = None

    @property
    def limited(self) -> bool:
        return self.owners is not None or self.sites is not None

    def can(self, scope: str) -> bool:
        return scope in self.scopes

    def reaches(self, site: str, owner: str) -> bool:
        return (self.owners is None or owner in self.owners) and (self.sites is None or site in self.sites)


ANONYMOUS = Caller("anonymous", ALL_SCOPES)


@dataclass(frozen=True)
class Grant:
    """One line of the tokens file: a token's digest and what it grants."""

    digest: bytes
    caller: Caller
    expires: float | None = None

    def export(self) -> dict:
        c = self.caller
        return {"digest": self.digest.hex(), "name": c.name, "scopes": sorted(c.scopes), "expires": self.expires,
                "owners": None if c.owners is None else sorted(c.owners),
                "sites": None if c.sites is None else sorted(c.sites)}

    @classmethod
    def from_export(cls, item: dict) -> "Grant":
        limit = lambda key: None if item.get(key) is None else frozenset(item[key])  # noqa: E731
        return cls(bytes.fromhex(item["digest"]),
                   Caller(item["name"], frozenset(item["scopes"]), limit("owners"), limit("sites")), item.get("expires"))


def _expiry(value: str, where: str) -> float:
    try:
        if len(value) == 10:  # a date: valid through that day (UTC)
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() + timedelta(days=1).total_seconds()
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise TokenFileError(f"{where}: expires must be an ISO-8601 date or time, got {value!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _grant(line: str, number: int, source: str) -> Grant:
    where = f"{source}:{number}"
    scopes_field, token, *options = line.split()
    scopes = scopes_field.split(",")
    if not all(scope in SCOPES for scope in scopes):
        raise TokenFileError(f"{where}: expected `SCOPES TOKEN [name=…] [owners=…] [sites=…] [expires=…]` with "
                             f"SCOPES from {sorted(SCOPES)}")
    if len(token) < 16:
        raise TokenFileError(f"{where}: token too short (at least 16 characters)")
    values = {}
    for position, option in enumerate(options, 3):
        key, equals, value = option.partition("=")
        if not equals or key not in OPTIONS or not value or key in values:  # never quoted: it may be a token
            raise TokenFileError(f"{where}: field {position} is not one of the options "
                                 f"{', '.join(o + '=…' for o in OPTIONS)} (each at most once)")
        values[key] = value
    limit = lambda key: frozenset(values[key].split(",")) if key in values else None  # noqa: E731
    granted = frozenset().union(*(SCOPES[scope] for scope in scopes))
    expires = _expiry(values["expires"], where) if "expires" in values else None
    return Grant(_digest(token), Caller(values.get("name", f"line {number}"), granted, limit("owners"),
                                        limit("sites")), expires)


class Tokens:
    def __init__(self, grants: list[Grant]) -> None:
        self.grants = grants

    @classmethod
    def parse(cls, text: str, source: str = "<tokens>") -> "Tokens":
        grants = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if len(line.split()) < 2:
                raise TokenFileError(f"{source}:{number}: expected `SCOPES TOKEN [name=…] [owners=…] [sites=…] "
                                     f"[expires=…]` with SCOPES from {sorted(SCOPES)}")
            grants.append(_grant(line, number, source))
        if not grants:
            raise TokenFileError(f"{source}: no tokens (expected `SCOPES TOKEN` lines); every request would be refused")
        names = [g.caller.name for g in grants]
        if len(set(names)) < len(names):
            raise TokenFileError(f"{source}: token names must be unique, {sorted({n for n in names if names.count(n) > 1})} "
                                 "repeat")
        return cls(grants)

    def export(self) -> list[dict]:
        """What the Api replicas are given: digests and grants, never the tokens themselves."""
        return [grant.export() for grant in self.grants]

    @classmethod
    def from_export(cls, items: list) -> "Tokens":
        return cls([Grant.from_export(item) for item in items])

    def authenticate(self, token: str, now: float | None = None) -> Caller | None:
        """The caller a token stands for; None for an unknown token. An expired one raises 401 saying so."""
        digest, found = _digest(token), None
        for grant in self.grants:  # no early exit: the time taken does not depend on which matched
            if hmac.compare_digest(digest, grant.digest):
                found = grant
        if found is not None and found.expires is not None and (now or time.time()) >= found.expires:
            raise HTTPException(401, f"token {found.caller.name!r} expired", headers={"WWW-Authenticate": "Bearer"})
        return None if found is None else found.caller


class TokenFile:
    """The tokens file, re-read when it changes (checked at most once a second)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen, self._checked = self._stamp(), time.monotonic()
        self.tokens = read_tokens(path)

    def _stamp(self) -> tuple | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size, stat.st_ino

    def current(self) -> Tokens:
        if time.monotonic() - self._checked < RELOAD_CHECK_S:
            return self.tokens
        self._checked, stamp = time.monotonic(), self._stamp()
        if stamp != self._seen:
            self._seen = stamp
            try:
                self.tokens = read_tokens(self.path)
                log.warning("tokens file %s changed: %d tokens now", self.path, len(self.tokens.grants))
            except TokenFileError as error:
                log.error("tokens file changed but cannot be used, keeping the previous tokens: %s", error)
        return self.tokens


def read_tokens(path: Path) -> Tokens:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise TokenFileError(f"{path}: cannot read the tokens file: {getattr(error, 'strerror', None) or error}") from None
    return Tokens.parse(text, str(path))


@lru_cache(maxsize=1)
def configured_tokens() -> TokenFile | None:
    """This process's tokens file (MATAKOTA_TOKENS_FILE), read now; None (and a warning) without one."""
    path: Path | None = settings().tokens_file
    if path is None:
        log.warning("MATAKOTA_TOKENS_FILE is not set: the API accepts requests without a token")
        return None
    return TokenFile(path)


def active_tokens(request: Request) -> "Tokens | None":
    """The tokens file of this process when it has one (re-read on change), else those the Api replica was started
    with (`app.state.tokens`); None: the API is open."""
    state = request.app.state
    source = state.tokens if hasattr(state, "tokens") else configured_tokens()
    return source.current() if isinstance(source, TokenFile) else source


def takes_token_in_query(path: str) -> bool:
    """The event stream and camera live views: opened by browsers' EventSource and <img>, which send no headers."""
    return path == STREAM_PATH or (path.startswith("/v1/cameras/") and path.endswith("/live.mjpg"))


def authenticate(request: Request) -> Caller:
    """The caller of this request (cached on it): 401 without a valid bearer token."""
    if hasattr(request.state, "caller"):
        return request.state.caller
    tokens = active_tokens(request)
    route = request.scope.get("route")
    if tokens is None or getattr(route, "path", None) in getattr(request.app.state, "open_paths", ()):
        caller = ANONYMOUS  # an open API (local runs), or health kept open (api.open_paths)
    else:
        header = request.headers.get("authorization", "")
        kind, _, token = header.partition(" ")
        if not header and takes_token_in_query(request.url.path) and "access_token" in request.query_params:
            # browsers' EventSource and <img> cannot send headers: the live streams (only) take ?access_token=
            kind, token = "bearer", request.query_params["access_token"]
        if kind.lower() != "bearer" or not token:
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        caller = tokens.authenticate(token.strip())
        if caller is None:
            raise HTTPException(401, "invalid token", headers={"WWW-Authenticate": "Bearer"})
    request.state.caller = caller
    return caller


def require(scope: str):
    """A FastAPI dependency: 401 without a valid bearer token, 403 when its scopes lack `scope`."""

    def check(request: Request) -> Caller:
        caller = authenticate(request)
        if not caller.can(scope):
            raise HTTPException(403, f"this token lacks the {scope!r} scope")
        if scope in AUDITED:
            record_use(request, caller)
        return caller

    return check


READ = [Depends(require("read"))]  # route dependencies: `@router.get(..., dependencies=READ)`
OPERATOR = [Depends(require("operator"))]
ENFORCEMENT = [Depends(require("enforcement"))]
ADMIN = [Depends(require("admin"))]
