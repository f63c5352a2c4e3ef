"""Camera sources: which URLs are allowed, how they are opened (with timeouts), and what failures mean."""
from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit

import av
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import (SourceAuthError, SourceConnectionError, SourceFormatError, StreamError,
                     UnsupportedSourceError)
from . import credentials
from .redact import Redactor, redact_url
from .synthetic import SCHEME as SYNTHETIC_SCHEME
from .synthetic import parse as parse_synthetic

NETWORK_SCHEMES = {"rtsp", "rtsps", "http", "https"}
# FFmpeg "decodes" text files as ANSI-art video (tty demuxer): such a source is not a camera.
TEXT_CODECS = {"ansi", "bintext", "xbin", "idf"}


class RtspTransport(str, Enum):
    TCP = "tcp"
    UDP = "udp"


class SourceKind(str, Enum):
    RTSP = "rtsp"
    HTTP = "http"
    FILE = "file"
    SYNTHETIC = "synthetic"  # no video at all: scale tests (actors/synthetic.py)


class SourceConfig(BaseModel):
    """Where a camera's video comes from. Its repr and validation errors never show the password."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    url: str = Field(description="rtsp(s)://, http(s)://, or (with allow_files) file://, a path or synthetic://")
    allow_files: bool = Field(default=False, description="accept local files (demos, benchmarks)")
    loop: bool = Field(default=False, description="files: start again at the end")
    paced: bool = Field(default=True, description="files: emit at the native frame rate (stream timestamps)")
    rtsp_transport: RtspTransport = Field(default=RtspTransport.TCP)
    open_timeout_s: float = Field(default=5.0, gt=0, description="connect + probe deadline")
    read_timeout_s: float = Field(default=5.0, gt=0, description="deadline of one blocking read")
    probe_s: float = Field(default=0.5, gt=0, description="how long FFmpeg may analyse a live stream on open")

    @model_validator(mode="after")
    def _check_scheme(self) -> SourceConfig:
        source_kind(self.url, self.allow_files)
        credentials.reference(self.url)
        return self

    @property
    def kind(self) -> SourceKind:
        return source_kind(self.url, self.allow_files)

    @property
    def redacted_url(self) -> str:
        return redact_url(self.url)

    @property
    def detect(self) -> bool:
        """Whether this camera's frames go to the Detector (only a `synthetic://…?detect=0` camera's do not)."""
        return self.kind is not SourceKind.SYNTHETIC or parse_synthetic(self.url).detect

    def __repr_args__(self):
        for name, value in super().__repr_args__():
            yield name, (redact_url(value) if name == "url" else value)


def source_kind(url: str, allow_files: bool) -> SourceKind:
    """Classify a URL, raising UnsupportedSourceError (redacted) for anything not allowed."""
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        raise UnsupportedSourceError(f"not a URL: {redact_url(url)}") from None
    if scheme in ("rtsp", "rtsps"):
        return SourceKind.RTSP
    if scheme in ("http", "https"):
        return SourceKind.HTTP
    if scheme in ("", "file") or (len(scheme) == 1 and Path(url).drive):  # plain path (C:\ on Windows)
        if allow_files:
            return SourceKind.FILE
        raise UnsupportedSourceError(f"local files are disabled (set allow_files=True): {redact_url(url)}")
    if scheme == SYNTHETIC_SCHEME:
        if allow_files:
            parse_synthetic(url)
            return SourceKind.SYNTHETIC
        raise UnsupportedSourceError(f"synthetic cameras are disabled (set allow_files=True): {redact_url(url)}")
    raise UnsupportedSourceError(f"unsupported scheme {scheme!r} (allowed: {', '.join(sorted(NETWORK_SCHEMES))}"
                                 f", and files with allow_files): {redact_url(url)}")


def ffmpeg_options(cfg: SourceConfig) -> dict[str, str]:
    """Per-protocol FFmpeg options; socket timeouts in µs back up PyAV's own open/read deadlines."""
    io_us = str(int(cfg.read_timeout_s * 1e6))
    if cfg.kind is SourceKind.RTSP:
        return {"rtsp_transport": cfg.rtsp_transport.value, "timeout": io_us,
                "analyzeduration": str(int(cfg.probe_s * 1e6)), "allowed_media_types": "video"}
    if cfg.kind is SourceKind.HTTP:
        return {"rw_timeout": io_us, "analyzeduration": str(int(cfg.probe_s * 1e6))}
    return {}


def open_source(cfg: SourceConfig) -> av.container.InputContainer:
    """Open the source with deadlines; failures become StreamError subclasses with redacted messages."""
    url = credentials.resolve(cfg.url)  # `${NAME}` → the secret, read now (rotations apply on reconnect)
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
    return container


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
