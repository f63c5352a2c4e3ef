"""Camera credentials kept out of configs: `rtsp://${NAME}@host/stream` names a secret, resolved at connect time.

The secret is a file `NAME` in MATAKOTA_CREDENTIALS_DIR (in Kubernetes, a mounted Secret) holding `user:password`.
It is read on every open and reconnect, so a rotated password takes effect at the next reconnect, and it never
reaches the fleet's desired state, actor arguments, the API or logs. Errors name the reference, never the value.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from matakota.actors.errors import SourceAuthError
from matakota.cluster.settings import settings

NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}"
REFERENCE = re.compile(rf"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)\$\{{(?P<name>{NAME})\}}@(?P<rest>[^@]+)$")


def reference(url: str) -> str | None:
    """The credential name a URL refers to (None without one); ValueError for a malformed reference."""
    if "${" not in url:
        return None
    match = REFERENCE.match(url)
    if match is None:
        raise ValueError("a credential reference must be the whole user part of the URL: scheme://${NAME}@host/…"
                         " with NAME of letters, digits, '.', '_' or '-'")
    return match["name"]


def resolve(url: str, directory: Path | None = None) -> str:
    """The URL with its `${NAME}` replaced by the percent-encoded `user:password` from the secret file."""
    name = reference(url)
    if name is None:
        return url
    folder = Path(directory or settings().credentials_dir)
    try:
        secret = (folder / name).read_text()
    except OSError:
        raise SourceAuthError(f"credentials ${{{name}}} not found in {folder}") from None
    secret = secret[:-1] if secret.endswith("\n") else secret
    user, colon, password = secret.partition(":")
    if not colon:
        raise SourceAuthError(f"credentials ${{{name}}} in {folder} must be `user:password`")
    match = REFERENCE.match(url)
    return f"{match['scheme']}{quote(user, safe='')}:{quote(password, safe='')}@{match['rest']}"
