"""Hostile images, built by the tests themselves (nothing binary is committed)."""

from __future__ import annotations

import struct

import cv2
import numpy as np

DECOY_AT = 65509  # where a marker walk that takes an RST marker's next bytes for a length lands


def jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image)[1].tobytes()


def png(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


def decoy_jpeg(width: int, height: int, decoy: int = 16) -> bytes:
    """A real `width`×`height` JPEG that a naive header walk reads as `decoy`×`decoy`: an RST marker right after
    SOI (no length, so libjpeg just passes it), then an APP1 segment whose payload holds a fake frame header exactly
    where a walk that took the RST's next two bytes (FF E1) for a length would land."""
    real = jpeg(np.full((height, width, 3), 120, np.uint8))
    length = 0xFFFD
    payload = bytearray(length - 2)
    fake = DECOY_AT - 8  # SOI (2) + RST0 (2) + APP1 marker and length (4)
    payload[fake:fake + 9] = b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", decoy, decoy)
    return b"\xff\xd8" + b"\xff\xd0" + b"\xff\xe1" + struct.pack(">H", length) + bytes(payload) + real[2:]
