"""Hardware decoding (NVDEC through PyAV's hwaccel API), off by default, with a CPU fallback.

A camera with `decode.hwaccel: cuda` opens its decoder on the GPU once per camera session; when the device
cannot be opened (no GPU or driver, no CUDA in PyAV's FFmpeg, a codec NVDEC lacks) the session decodes on the
CPU and says why, once (a warning, and `ReaderStats.decoder` / `hwaccel_fallback`). Frames are copied back to
system memory: the rest of the pipeline is numpy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import av
from av.codec.hwaccel import HWAccel as DeviceSettings

from matakota.config import HwAccel

log = logging.getLogger(__name__)
CPU = "cpu"


@dataclass(frozen=True)
class DecoderChoice:
    """Which decoder a camera session uses: `name` is "cpu" or the device type ("cuda"); `fallback` says why a
    requested device is not used ("" when none was requested or it opened)."""

    name: str = CPU
    fallback: str = ""


def device_settings(mode: HwAccel) -> DeviceSettings | None:
    """PyAV's settings for `mode`; None for the CPU. CUDA decoders share the device's primary context (one per
    process, not one per camera: a context costs hundreds of MiB of GPU memory)."""
    if mode is HwAccel.NONE:
        return None
    return DeviceSettings(mode.value, allow_software_fallback=True, options={"primary_ctx": "1"})


def open_decoder(codec: str, extradata: bytes | None, mode: HwAccel) -> av.CodecContext:
    """A decoder of `codec` on `mode`'s device, single-threaded (the device or the caller's threads are the
    parallelism). Raises what FFmpeg raises when the device cannot be opened."""
    decoder = av.CodecContext.create(codec, "r", hwaccel=device_settings(mode))
    if extradata:
        decoder.extradata = extradata
    decoder.thread_count = 1
    return decoder


def open_stream_decoder(stream: av.video.stream.VideoStream, mode: HwAccel,
                        camera: str = "") -> tuple[av.CodecContext | None, DecoderChoice]:
    """A device decoder for `stream`, or (None, the CPU with the reason) when `mode` is none or it cannot be
    opened; the stream's own (CPU) codec context decodes then."""
    if mode is HwAccel.NONE:
        return None, DecoderChoice()
    ctx = stream.codec_context
    try:
        decoder = open_decoder(ctx.name, ctx.extradata, mode)
        decoder.open()
    except Exception as exc:  # noqa: BLE001 - any failure to open the device means: decode on the CPU
        reason = f"{mode.value} decoder for {ctx.name} unavailable ({type(exc).__name__}: {exc})"
        log.warning("camera %s: %s; decoding on the CPU", camera or "?", reason)
        return None, DecoderChoice(CPU, reason)
    return decoder, DecoderChoice(mode.value)
