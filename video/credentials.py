"""Camera credentials kept out of configs: `rtsp://${NAME}@host/stream` names a secret, resolved at connect time.

The secret is a file `NAME` in MATAKOTA_CREDENTIALS_DIR (in Kubernetes, a mounted Secret) holding `user:password`,
and beside it `NAME.hosts`: the hosts those credentials may be sent to (host names, IP addresses or CIDR networks,
separated by spaces or lines). A URL whose host is not listed never gets them, so nobody who may add a camera can
send a site's password to a host of their choosing. Both are read on every open and reconnect (a rotated password
or host list applies at the next reconnect), and the secret never reaches the fleet's desired state, actor
arguments, the API or logs. Errors name the reference, never the value.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import quote, urlsplit

from matakota.core.errors import SourceAuthError
from matakota.core.settings import settings
from matakota.core.urls import CREDENTIAL_REFERENCE, credential_reference

HOSTS_SUFFIX = ".hosts"


def resolve(url: str, directory: Path | None = None) -> str:
    """The URL with its `${NAME}` replaced by the percent-encoded `user:password` from the secret file, once its
    host is one `NAME.hosts` allows (SourceAuthError otherwise)."""
    name = credential_reference(url)
    if name is None:
        return url
    folder = Path(directory or settings().credentials_dir)
    check_destination(url, folder)
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


def check_destination(url: str, directory: Path | None = None) -> None:
    """SourceAuthError unless the URL's credential reference may be sent to the URL's host (no reference: fine)."""
    name = credential_reference(url)
    if name is None:
        return
    folder = Path(directory or settings().credentials_dir)
    try:
        allowed = (folder / f"{name}{HOSTS_SUFFIX}").read_text().split()
    except OSError:
        raise SourceAuthError(f"credentials ${{{name}}} name no hosts: add {name}{HOSTS_SUFFIX} beside them in "
                              f"{folder}, listing the hosts, IPs or networks they may be sent to") from None
    host = urlsplit("//" + CREDENTIAL_REFERENCE.match(url)["rest"]).hostname or ""
    if not any(_matches(host, entry) for entry in allowed):
        raise SourceAuthError(f"credentials ${{{name}}} may not be sent to {host!r}: it is not in {name}{HOSTS_SUFFIX}")


def _matches(host: str, entry: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host.lower().rstrip(".") == entry.lower().rstrip(".")
    try:
        return address in ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
