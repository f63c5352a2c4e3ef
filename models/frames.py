"""Frames as the model takes them: letterboxed to 416×416, batched with what undoes the letterbox.

Light on purpose (numpy + OpenCV only): camera shards import it, and they never load ONNX Runtime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

INPUT_SIZE = 416  # YOLOX-Nano's input side

PAD_VALUE = 114
JPEG_REDUCTIONS = (8, 4, 2)  # what libjpeg's DCT scaling decodes to directly: 1/8, 1/4, 1/2 of each side


@dataclass(frozen=True)
class FrameBatch:
    """Letterboxed frames ready for the model — the value shards send to the Detector deployment.

    `ratios[i]` is the letterbox scale of frame i; `sizes[i]` its source (height, width).
    """

    frames: np.ndarray  # uint8 [n, 416, 416, 3]
    ratios: np.ndarray  # float32 [n]
    sizes: np.ndarray  # int32 [n, 2]

    def __len__(self) -> int:
        return len(self.frames)

    @classmethod
    def from_images(cls, images: Sequence[np.ndarray]) -> FrameBatch:
        boxed = [letterbox(image) for image in images]
        frames = np.stack([frame for frame, _ in boxed]) if boxed else np.zeros((0, INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
        return cls(
            frames=frames,
            ratios=np.array([ratio for _, ratio in boxed], np.float32),
            sizes=np.array([image.shape[:2] for image in images], np.int32).reshape(-1, 2),
        )

    @classmethod
    def concat(cls, batches: Sequence[FrameBatch]) -> FrameBatch:
        return cls(
            frames=np.concatenate([b.frames for b in batches]),
            ratios=np.concatenate([b.ratios for b in batches]),
            sizes=np.concatenate([b.sizes for b in batches]),
        )


def jpeg_reduction(width: int, height: int, size: int = INPUT_SIZE) -> int:
    """The largest libjpeg DCT reduction (8, 4, 2, else 1) that still leaves the longer side at least `size`:
    decoding a 1080p JPEG at 1/4 (480×270) costs a third of a full decode and letterboxes to the same 416."""
    longer = max(width, height)
    return next((r for r in JPEG_REDUCTIONS if -(-longer // r) >= size), 1)


def letterbox(image: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, float]:
    """Resize to fit `size`×`size` keeping aspect, paste at the top-left of a canvas of 114 (model README)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected a BGR uint8 image [h, w, 3], got {image.dtype} {image.shape}")
    height, width = image.shape[:2]
    ratio = min(size / height, size / width)
    size_out = (max(1, int(width * ratio)), max(1, int(height * ratio)))  # a 1×2000 strip keeps one column
    resized = cv2.resize(image, size_out, interpolation=cv2.INTER_LINEAR)
    canvas = np.full((size, size, 3), PAD_VALUE, np.uint8)
    canvas[: resized.shape[0], : resized.shape[1]] = resized
    return canvas, ratio
