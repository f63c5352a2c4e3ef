"""NVDEC vs CPU decode of the 1080p stream profiles, frames/s per process (part of loadtest/gpu_bench.py).

Each run decodes a profile's file (loadtest/streams.py) on `streams` camera threads at once, unpaced, through the
camera path (`decode_frames`: decode, download from the GPU, downscale to the detector's input, BGR): all frames,
then keyframes only (the shared keyframe decoders). A device that does not open falls back to the CPU as a camera
does; the result says so (`decoder`, `fallback`) and is not counted as an NVDEC figure.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av

from matakota.config import DecodeConfig, DecodeMode, HwAccel
from matakota.core.errors import StreamEndedError
from matakota.models.frames import INPUT_SIZE
from matakota.video.decode import decode_frames
from matakota.video.hwaccel import DecoderChoice

PROFILES = ("1080p25-h264-gop2", "1080p25-h265-gop2")
MODES = (DecodeMode.ALL, DecodeMode.KEYFRAMES)


def decode_file(path: Path, cfg: DecodeConfig) -> tuple[int, DecoderChoice]:
    """Frames one camera session decodes from `path` (to its end), and the decoder it used."""
    heard: list[DecoderChoice] = []
    frames = 0
    with av.open(str(path)) as container:
        try:
            for _ in decode_frames(container, cfg, threading.Event(), camera_id=path.stem,
                                   on_decoder=heard.append):
                frames += 1
        except StreamEndedError:
            pass
    return frames, heard[0]


def decode_rate(path: Path, mode: DecodeMode, hwaccel: HwAccel, streams: int) -> dict:
    """frames/s of `streams` sessions decoding `path` at once in this process; `decoder` and `fallback` as the
    first session reports them."""
    cfg = DecodeConfig(mode=mode, hwaccel=hwaccel, max_width=INPUT_SIZE, max_height=INPUT_SIZE, stall_timeout_s=60)
    decode_file(path, cfg)  # warm-up: the device, the decoders, the page cache
    with ThreadPoolExecutor(streams) as pool:
        started = time.perf_counter()
        results = list(pool.map(lambda _: decode_file(path, cfg), range(streams)))
        elapsed = time.perf_counter() - started
    choice = results[0][1]
    return {"fps": sum(frames for frames, _ in results) / elapsed, "decoder": choice.name,
            "fallback": choice.fallback}


def compare(files: dict[str, Path], streams: int) -> dict[str, dict[str, dict]]:
    """{profile: {"cpu all", "cuda all", "cpu keyframes", "cuda keyframes": decode_rate(...)}}."""
    results = {}
    for profile, path in files.items():
        results[profile] = {f"{hw.value} {mode.value}": decode_rate(path, mode, hw, streams)
                            for mode in MODES for hw in (HwAccel.NONE, HwAccel.CUDA)}
        print(f"decode {profile}, {streams} streams: " + ", ".join(
            f"{name} {r['fps']:,.0f}/s ({r['decoder']})" for name, r in results[profile].items()), flush=True)
    return results


def nvdec_figures(results: dict[str, dict[str, dict]]) -> dict[str, dict[str, float | None]]:
    """Figures for the report: all-frames and keyframes frames/s on NVDEC and on the CPU per profile; an NVDEC
    figure is None when the device fell back to the CPU."""
    def nvdec(r: dict) -> float | None:
        return r["fps"] if r["decoder"] == HwAccel.CUDA.value else None

    return {
        "nvdec_fps": {p: nvdec(r["cuda all"]) for p, r in results.items()},
        "nvdec_keyframes_fps": {p: nvdec(r["cuda keyframes"]) for p, r in results.items()},
        "cpu_decode_fps": {p: r["none all"]["fps"] for p, r in results.items()},
        "cpu_keyframes_fps": {p: r["none keyframes"]["fps"] for p, r in results.items()},
    }
