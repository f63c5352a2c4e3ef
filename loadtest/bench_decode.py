"""Decode throughput: raw PyAV (one thread) vs a CameraReader on the same clip, unpaced; memory per reader.

    .venv/bin/python -m loadtest.bench_decode [--clip PATH] [--readers 20]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import av

from loadtest.streams import stream_file
from matakota.config import DecodeConfig, DecodeMode, SourceConfig
from matakota.video.reader import CameraReader

DEFAULT_CLIP = "1080p25-h264-gop2"  # a city camera's stream profile (loadtest/streams.py), encoded once and cached


def clip_path(path: str | None) -> str:
    """The video to decode: `path`, else the default stream profile's file."""
    return path or str(stream_file(DEFAULT_CLIP))


def raw_pyav(path: str, keyframes: bool) -> tuple[int, float]:
    """Source frames/s of a bare decode loop (no conversion), one decoder thread."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        if keyframes:
            stream.codec_context.skip_frame = "NONKEY"
        total = stream.frames
        t0 = time.perf_counter()
        for _ in container.decode(stream):
            pass
        return total, time.perf_counter() - t0


def reader_run(path: str, mode: DecodeMode, max_width: int | None) -> tuple[int, float]:
    """Source frames/s of a CameraReader (decode + BGR conversion of emitted frames + slot)."""
    with av.open(path) as container:
        total = container.streams.video[0].frames
    source = SourceConfig(url=path, allow_files=True, paced=False)
    t0 = time.perf_counter()
    reader = CameraReader("bench", source, DecodeConfig(mode=mode, max_width=max_width))
    while reader.stats().reason != "end of file":
        time.sleep(0.002)
    elapsed = time.perf_counter() - t0
    reader.stop()
    return total, elapsed


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_per_reader(path: str, n: int) -> float:
    before = rss_mib()
    source = SourceConfig(url=path, allow_files=True, loop=True)
    readers = [CameraReader(f"m{i}", source, DecodeConfig(mode="sampled", sample_fps=1, max_width=416))
               for i in range(n)]
    time.sleep(3.0)
    after = rss_mib()
    for r in readers:
        r.request_stop()
    for r in readers:
        r.join(5)
    return (after - before) / n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clip", help=f"video file (default: the {DEFAULT_CLIP} stream profile, loadtest/streams.py)")
    p.add_argument("--readers", type=int, default=20)
    args = p.parse_args()
    args.clip = clip_path(args.clip)
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, like one camera's share
    print(f"clip: {Path(args.clip).name}, pinned to 1 core")
    print(f"{'what':<44}{'frames':>8}{'seconds':>9}{'src fps':>10}{'vs raw':>8}")
    for keyframes, mode in ((False, DecodeMode.ALL), (True, DecodeMode.KEYFRAMES)):
        n, raw_s = raw_pyav(args.clip, keyframes)
        label = "keyframes only" if keyframes else "all frames"
        print(f"{'raw PyAV, ' + label:<44}{n:>8}{raw_s:>9.2f}{n / raw_s:>10.0f}{1.0:>8.2f}")
        for width in (None, 416):
            n, s = reader_run(args.clip, mode, width)
            what = f"CameraReader {mode.value}" + (f", BGR ≤{width}px wide" if width else ", BGR full size")
            print(f"{what:<44}{n:>8}{s:>9.2f}{n / s:>10.0f}{raw_s / s:>8.2f}")
    print(f"memory per CameraReader (sampled 1 fps, ≤416 px, {args.readers} readers): "
          f"{memory_per_reader(args.clip, args.readers):.1f} MiB")


if __name__ == "__main__":
    main()
