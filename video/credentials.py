"""Camera credentials kept out of configs: `rtsp://${NAME}@host/stream` names a secret, resolved at connect time.

The secret is a file `NAME` in MATAKOTA_CREDENTIALS_DIR (in Kubernetes, a mounted Secret) holding `user:password`.
It is read on every open and reconnect, so a rotated password takes effect at the next reconnect, and it never
reaches the fleet's desired state, actor arguments, the API or logs. Errors name the reference, never the value.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from matakota.core.errors import SourceAuthError
from matakota.core.settings import settings
from matakota.core.urls import CREDENTIAL_REFERENCE, credential_reference


def resolve(url: str, directory: Path | None = None) -> str:
    """The URL with its `${NAME}` replaced by the percent-encoded `user:password` from the secret file."""
    name = credential_reference(url)
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
    match = CREDENTIAL_REFERENCE.match(url)
    return f"{match['scheme']}{quote(user, safe='')}:{quote(password, safe='')}@{match['rest']}"
