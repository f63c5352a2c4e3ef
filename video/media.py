"""Images and video files as BGR frames, for the command line tools (`detect`, `analyze`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import av
import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


@dataclass(frozen=True)
class MediaFrame:
    source: str
    index: int  # frame number in the source
    pts_s: float  # stream timestamp (0 for still images)
    image: np.ndarray  # BGR uint8


class MediaError(RuntimeError):
    """A file that is neither a readable image nor a readable video."""


def read_frames(path: Path, fps: float | None = None) -> Iterator[MediaFrame]:
    """Every frame of an image or video file; with `fps`, video frames sampled at that rate by timestamp."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise MediaError(f"{path}: not a readable image")
        yield MediaFrame(str(path), 0, 0.0, image)
        return
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as error:
        raise MediaError(f"{path}: not a readable video ({error})") from None
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        next_due = 0.0
        for index, frame in enumerate(container.decode(stream)):
            pts_s = float(frame.pts * stream.time_base) if frame.pts is not None else index / float(stream.average_rate or 1)
            if fps:
                if pts_s + 1e-6 < next_due:
                    continue
                while next_due <= pts_s + 1e-6:
                    next_due += 1.0 / fps
            yield MediaFrame(str(path), index, pts_s, frame.to_ndarray(format="bgr24"))


def batched(frames: Iterable[MediaFrame], size: int) -> Iterator[list[MediaFrame]]:
    """Lists of up to `size` frames (batching pays on the CPU too)."""
    iterator = iter(frames)
    while chunk := list(islice(iterator, size)):
        yield chunk
