"""Evidence JPEGs as files `{event_id}.jpg` and `{event_id}-crop.jpg` under one directory, written atomically."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

EVENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class SnapshotStore:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory).expanduser()
        self.directory.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def names(event_id: str) -> tuple[str, str]:
        if not EVENT_ID.match(event_id):
            raise ValueError(f"not an event id: {event_id!r}")
        return f"{event_id}.jpg", f"{event_id}-crop.jpg"

    def save(self, event_id: str, full_jpeg: bytes, crop_jpeg: bytes | None = None) -> tuple[str, str | None]:
        """Write the images (replacing any earlier copy: retries are harmless); returns their file names."""
        full_name, crop_name = self.names(event_id)
        self._write(full_name, full_jpeg)
        if crop_jpeg is None:
            return full_name, None
        self._write(crop_name, crop_jpeg)
        return full_name, crop_name

    def path(self, name: str) -> Path:
        """The file of a stored name; refuses names that would leave the directory."""
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"not a snapshot name: {name!r}")
        return self.directory / name

    def delete(self, names) -> int:
        deleted = 0
        for name in names:
            try:
                self.path(name).unlink()
                deleted += 1
            except (FileNotFoundError, ValueError):
                pass
        return deleted

    def _write(self, name: str, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".jpg")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(tmp, self.directory / name)  # atomic: readers see the old file or the new, never half
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
