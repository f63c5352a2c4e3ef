"""Errors that cross layers: camera sources (messages always redacted before they are raised) and fleet changes."""


class StreamError(Exception):
    """A camera stream failed; `str(err)` is safe to log and show."""


class UnsupportedSourceError(StreamError, ValueError):
    """The URL's scheme is not allowed (or a file was given without `allow_files`): a config error."""


class SourceConnectionError(StreamError):
    """Host unreachable, refused, timed out, mount not found, or the stream ended: transient, retried."""


class StreamStalledError(SourceConnectionError):
    """Connected, but no frame arrived within the stall timeout."""


class StreamEndedError(SourceConnectionError):
    """The source closed the stream (a live camera went away, or a file ended)."""


class SourceAuthError(StreamError):
    """The camera refused the credentials (401/403)."""


class SourceFormatError(StreamError):
    """The source answered, but it is not decodable video (not video, corrupt, no video stream)."""


class CameraError(ValueError):
    """A run-time camera change that cannot be applied; `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message, status)  # both in args: the error crosses actors by pickling
        self.status = status

    def __str__(self) -> str:
        return self.args[0]
