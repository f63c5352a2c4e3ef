"""Uploaded images: checked before decoding (format, completeness, dimensions), so bad input is a 4xx."""

from __future__ import annotations

import struct

import cv2
import numpy as np

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers carry the dimensions (baseline, progressive, lossless...; not DHT/JPG/DAC).
SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class ImageError(ValueError):
    """An upload that is not a usable image; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _jpeg_size(data: bytes) -> tuple[int, int]:
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise ImageError(400, "truncated JPEG: no end-of-image marker")
    offset = 2
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            raise ImageError(400, "corrupt JPEG: bad marker structure")
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        length = struct.unpack(">H", data[offset + 2 : offset + 4])[0]
        if marker in SOF_MARKERS and offset + 9 <= len(data):
            height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
            return width, height
        offset += 2 + length
    raise ImageError(400, "corrupt JPEG: no frame header")


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ImageError(400, "corrupt PNG: no IHDR header")
    if b"IEND" not in data[-12:]:
        raise ImageError(400, "truncated PNG: no IEND chunk")
    return struct.unpack(">II", data[16:24])


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the header of a JPEG or PNG, without decoding it."""
    if data.startswith(JPEG_MAGIC):
        return _jpeg_size(data)
    if data.startswith(PNG_MAGIC):
        return _png_size(data)
    raise ImageError(400, "the body is not a JPEG or PNG image")


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """A BGR uint8 image from JPEG/PNG bytes; `ImageError` (400/413) for anything unusable."""
    if not data:
        raise ImageError(400, "empty body: send a JPEG or PNG image")
    width, height = image_size(data)
    if width == 0 or height == 0:
        raise ImageError(400, f"image has no pixels ({width}×{height})")
    if width * height > max_pixels:
        raise ImageError(413, f"image is {width}×{height} pixels; the limit is {max_pixels} pixels")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageError(400, "the image could not be decoded (corrupt data)")
    return image
