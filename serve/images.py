"""Uploaded images, decoded so that no body can make the API allocate more than its pixel limit allows.

Pillow reads the size from the header the way the decoder will (a hand-written marker walk is easy to fool: an
RST marker after SOI, then a decoy frame header), the size is checked against the limit, and Pillow then decodes
into a buffer of exactly that size: whatever the stream claims further on, nothing larger is allocated. JPEGs
are decoded already scaled down (libjpeg's DCT scaling) to what the model's input needs; `scale` maps the
decoded pixels back to the uploaded image's.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from matakota.models.frames import jpeg_reduction

FORMATS = {"JPEG", "PNG"}
MAX_ASPECT = 64  # longest side over shortest: beyond it nothing is left to detect at the model's input size


class ImageError(ValueError):
    """An upload that is not a usable image; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class UploadedImage:
    image: np.ndarray  # BGR uint8, possibly decoded at a reduced size
    width: int  # of the uploaded image
    height: int

    @property
    def scale(self) -> float:
        """Uploaded pixels per decoded pixel."""
        return self.width / self.image.shape[1]


def decode_image(data: bytes, max_pixels: int) -> UploadedImage:
    """A JPEG or PNG as BGR pixels; `ImageError` (400, or 413 over `max_pixels`) for anything unusable."""
    if not data:
        raise ImageError(400, "empty body: send a JPEG or PNG image")
    kind = "PNG" if data.startswith(b"\x89PNG") else "JPEG"
    try:
        with warnings.catch_warnings(), _opened(data) as image:
            width, height = image.size
            if width < 1 or height < 1:
                raise ImageError(400, f"image has no pixels ({width}×{height})")
            if width * height > max_pixels:
                raise ImageError(413, f"image is {width}×{height} pixels; the limit is {max_pixels} pixels")
            if max(width, height) > MAX_ASPECT * min(width, height):
                raise ImageError(400, f"image is {width}×{height} pixels: too thin to detect in (sides over "
                                      f"{MAX_ASPECT}:1)")
            reduction = jpeg_reduction(width, height) if image.format == "JPEG" else 1
            if reduction > 1:  # libjpeg decodes at 1/2, 1/4 or 1/8 size directly (Pillow picks that scale)
                image.draft("RGB", (max(1, width // reduction), max(1, height // reduction)))
            pixels = np.asarray(image.convert("RGB"))
    except ImageError:
        raise
    except Image.UnidentifiedImageError:
        raise ImageError(400, "the body is not a JPEG or PNG image") from None
    except Image.DecompressionBombError:
        raise ImageError(413, f"image is over the limit of {max_pixels} pixels") from None
    except (OSError, SyntaxError, ValueError) as error:  # truncated or corrupt data
        reason = _reason(error)
        raise ImageError(400, f"{'truncated' if 'truncated' in reason else 'corrupt'} {kind}: {reason}") from None
    return UploadedImage(cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR), width, height)


def _opened(data: bytes) -> Image.Image:
    """The image with its header read, its pixels not yet (Pillow's own size warning is ours to give)."""
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    return Image.open(io.BytesIO(data), formats=sorted(FORMATS))


def _reason(error: Exception) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__
