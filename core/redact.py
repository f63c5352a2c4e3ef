"""Keep camera credentials out of logs, states, errors and reprs.

Policy: the user name is kept (operators need it to tell accounts apart), the password never is:
`rtsp://admin:s3cret@cam/x` → `rtsp://admin:***@cam/x`. Query parameters that usually carry secrets
(`password=`, `token=`, ...) are masked too.
"""
from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

MASK = "***"
_SECRET_KEYS = {"password", "passwd", "pass", "pwd", "token", "access_token", "key", "apikey", "api_key",
                "auth", "secret", "signature", "sig"}
# [scheme:]//user:password@ anywhere in free text (FFmpeg messages, tracebacks, scheme-less URLs)
_USERINFO_RE = re.compile(r"(?i)((?:\b[a-z][a-z0-9+.\-]*:)?//[^\s/@:]*):[^\s/@]*@")


@lru_cache(maxsize=1 << 15)  # a fleet asks for the same few thousand URLs at every heartbeat
def redact_url(url: str) -> str:
    """The URL with its password (and secret-looking query values) replaced by `***`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO_RE.sub(rf"\1:{MASK}@", url)
    if not parts.scheme:  # a plain path, or something unparseable as a URL: scrub any `user:pass@` in it
        return _USERINFO_RE.sub(rf"\1:{MASK}@", url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{user}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if k.lower() in _SECRET_KEYS else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class Redactor:
    """Scrubs one camera's URL and password out of any text (e.g. FFmpeg error messages)."""

    def __init__(self, url: str):
        self.redacted = redact_url(url)
        self._secrets = sorted(_secrets_of(url), key=len, reverse=True)
        self._url = url

    def __call__(self, text: object) -> str:
        text = str(text).replace(self._url, self.redacted)
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _USERINFO_RE.sub(rf"\1:{MASK}@", text)


def _secrets_of(url: str) -> set[str]:
    try:
        parts = urlsplit(url)
        password = parts.password
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return set()
    found = {v for k, v in query if k.lower() in _SECRET_KEYS and len(v) >= 3}
    if password and len(password) >= 3:  # shorter ones would mangle ordinary text; the URL itself is replaced
        found |= {password, unquote(password), quote(unquote(password), safe="")}
    return found
