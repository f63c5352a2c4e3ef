"""Opening a camera source with deadlines, and what its failures mean (classified, redacted once, here)."""

from __future__ import annotations

import ctypes
import ctypes.util
import time

import av

from matakota.config import SourceConfig
from matakota.core import assets
from matakota.core.errors import SourceAuthError, SourceConnectionError, SourceFormatError, StreamError
from matakota.core.redact import Redactor
from matakota.core.urls import SourceKind, asset_name
from matakota.video import credentials

# FFmpeg "decodes" text files as ANSI-art video (tty demuxer): such a source is not a camera.
TEXT_CODECS = {"ansi", "bintext", "xbin", "idf"}


# The protocols FFmpeg may open for each kind of source, nested opens included (an HLS or DASH playlist's
# segments, redirects): an HTTP camera can never make FFmpeg read a local file, a file never a network URL.
PROTOCOLS = {SourceKind.RTSP: "rtsp,rtp,srtp,udp,tcp,tls", SourceKind.HTTP: "http,https,tcp,tls,crypto",
             SourceKind.FILE: "file"}


def ffmpeg_options(cfg: SourceConfig) -> dict[str, str]:
    """Per-protocol FFmpeg options; socket timeouts in µs back up PyAV's own open/read deadlines."""
    io_us = str(int(cfg.read_timeout_s * 1e6))
    options = {"protocol_whitelist": PROTOCOLS[cfg.kind]}
    if cfg.kind is SourceKind.RTSP:
        options |= {"rtsp_transport": cfg.rtsp_transport.value, "timeout": io_us,
                    "analyzeduration": str(int(cfg.probe_s * 1e6)), "allowed_media_types": "video"}
    if cfg.kind is SourceKind.HTTP:
        options |= {"rw_timeout": io_us, "analyzeduration": str(int(cfg.probe_s * 1e6))}
    return options


def open_source(cfg: SourceConfig) -> av.container.InputContainer:
    """Open the source with deadlines; failures become StreamError subclasses with redacted messages."""
    url = local_url(cfg.url)
    redact = Redactor(url)
    target = url[len("file://"):] if url.startswith("file://") else url
    started = time.monotonic()
    try:
        container = av.open(target, mode="r", options=ffmpeg_options(cfg),
                            timeout=(cfg.open_timeout_s, cfg.read_timeout_s))
    except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes unredacted
        raise classify(exc, redact, time.monotonic() - started >= cfg.open_timeout_s * 0.9) from None
    video = container.streams.video
    if not video or video[0].codec_context.name in TEXT_CODECS:
        found = f"format {container.format.name!r}" + (f", codec {video[0].codec_context.name!r}" if video else "")
        container.close()
        raise SourceFormatError(f"not decodable video at {redact.redacted}: no video stream ({found})")
    release_freed_memory()
    return container


_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None)


def release_freed_memory() -> None:
    """Give back to the system what threads have freed: probing a stream decodes a frame or two on the camera's own
    thread, and glibc keeps what a thread frees in that thread's arena (≈ 4 MiB per 1080p camera, for good)."""
    if hasattr(_LIBC, "malloc_trim"):  # glibc only
        _LIBC.malloc_trim(0)


def local_url(url: str) -> str:
    """The URL FFmpeg opens: `${NAME}` → the secret, read now (rotations apply on reconnect); `asset:NAME` → the
    verified local file of that asset (fetched once, then taken from the cache)."""
    name = asset_name(url)
    return str(assets.fetch(name)) if name else credentials.resolve(url)


def classify(exc: BaseException, redact: Redactor, timed_out: bool = False) -> StreamError:
    """Map a PyAV/OS exception to our hierarchy, with the message scrubbed of the URL and password."""
    if isinstance(exc, StreamError):
        return exc
    reason = f"{type(exc).__name__}: {_message(exc)}"
    where = redact.redacted
    if isinstance(exc, (av.error.HTTPUnauthorizedError, av.error.HTTPForbiddenError)):
        return SourceAuthError(redact(f"authentication failed for {where} ({reason})"))
    if timed_out or isinstance(exc, (TimeoutError, av.error.ExitError)):
        return SourceConnectionError(redact(f"timed out connecting to {where} ({reason})"))
    if isinstance(exc, (ConnectionError, av.error.HTTPError, av.error.HTTPClientError,
                        av.error.HTTPServerError, av.error.FileNotFoundError, FileNotFoundError)):
        return SourceConnectionError(redact(f"cannot reach {where} ({reason})"))
    if isinstance(exc, (av.error.InvalidDataError, av.error.DecoderNotFoundError, av.error.EOFError)):
        return SourceFormatError(redact(f"not decodable video at {where} ({reason})"))
    if isinstance(exc, OSError):
        return SourceConnectionError(redact(f"I/O error on {where} ({reason})"))
    return StreamError(redact(f"unexpected error on {where} ({reason})"))


def _message(exc: BaseException) -> str:
    """FFmpegError's str() embeds the filename (the full URL); use only its message part."""
    if isinstance(exc, av.error.FFmpegError) and exc.strerror:
        return str(exc.strerror)
    return str(exc)
