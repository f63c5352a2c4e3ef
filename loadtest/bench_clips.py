"""What the operator console costs per camera: the packet ring behind event clips (CPU as a fraction of the same
camera's decode, memory per buffered second, one cut), and one live viewer (rendering the newest frame with its
overlay, people pixelated, as JPEG, at the analysed rate). All measured in this run on the same clip.

    .venv/bin/python -m loadtest.bench_clips [--clip PATH] [--repeat 3] [--viewer-fps 2]
"""

from __future__ import annotations

import argparse
import threading
import time

import av
import numpy as np

from loadtest.bench_decode import clip_path
from matakota.analytics.overlay import render_frame
from matakota.config import DecodeConfig, DecodeMode
from matakota.core.detections import Detections
from matakota.core.errors import StreamEndedError
from matakota.video.clips import PacketRing
from matakota.video.decode import decode_frames


def decode_cpu(path: str, mode: DecodeMode) -> tuple[float, float]:
    """(CPU seconds, seconds of video) to decode the whole clip unpaced, as a camera does."""
    stop = threading.Event()
    with av.open(path) as container:
        stream = container.streams.video[0]
        seconds = float(stream.duration * stream.time_base) if stream.duration else float(container.duration) / 1e6
        t0 = time.process_time()
        try:
            for _ in decode_frames(container, DecodeConfig(mode=mode, sample_fps=2.0), stop):
                pass
        except StreamEndedError:  # the whole file decoded
            pass
    return time.process_time() - t0, seconds


def best(repeat: int, run) -> float:
    return min(run() for _ in range(repeat))


def ring_figures(path: str, repeat: int) -> dict:
    """The ring's own CPU (every packet of the clip added, as the reader does) against decoding the same clip."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
        packets = [p for p in container.demux(stream) if p.size]
        seconds = len(packets) / fps

        def fill() -> float:
            ring = PacketRing(keep_s=14)
            ring.start_session(stream)
            t0 = time.process_time()
            for i, packet in enumerate(packets):
                ring.add(packet, i / fps)
            return time.process_time() - t0

        ring_cpu = best(repeat, fill)
        ring = PacketRing(keep_s=1e9)
        ring.start_session(stream)
        for i, packet in enumerate(packets):
            ring.add(packet, i / fps)
        t0 = time.perf_counter()
        clip = ring.cut(seconds / 2 - 5, seconds / 2 + 5)
        cut_ms = (time.perf_counter() - t0) * 1000
    out = {"ring": {"cpu_s": round(ring_cpu, 4), "video_s": round(seconds, 1),
                    "kib_per_buffered_second": round(ring.bytes / seconds / 1024, 1),
                    "mib_per_camera_at_14_s": round(ring.bytes / seconds * 14 / 2**20, 2),
                    "cut_10_s_clip_ms": round(cut_ms, 2), "clip_kib": round(len(clip) / 1024, 1)}}
    for mode in (DecodeMode.KEYFRAMES, DecodeMode.SAMPLED):
        decode = best(repeat, lambda: decode_cpu(path, mode)[0])
        out[mode.value] = {"decode_cpu_s": round(decode, 4), "ring_fraction_of_decode": round(ring_cpu / decode, 4)}
    return out


def viewer_figures(path: str, repeat: int, fps: float) -> dict:
    """CPU of rendering one frame for a viewer (boxes, zones, two people pixelated, JPEG) at full size and 640 wide."""
    with av.open(path) as container:
        image = next(container.decode(video=0)).to_ndarray(format="bgr24")
    h, w = image.shape[:2]
    people = Detections(np.array([[w * .3, h * .2, w * .45, h * .95], [w * .6, h * .25, w * .72, h * .9]], np.float32),
                        np.array([.9, .8], np.float32), np.array([0, 0]), np.array([3, 7]))
    zones = {"plaza": np.array([[w * .1, h * .5], [w * .9, h * .5], [w * .9, h], [w * .1, h]])}
    lines = {"gate": ((w * .2, h * .6), (w * .8, h * .6))}
    out = {}
    for width in (None, 640):
        n = 50

        def run():
            t0 = time.process_time()
            for _ in range(n):
                render_frame(image, people, zones, lines, width=width)
            return (time.process_time() - t0) / n

        per_frame = best(repeat, run)
        out[f"{'full' if width is None else width}"] = {"ms_per_frame": round(per_frame * 1000, 2),
                                                        f"cpu_fraction_at_{fps:g}_fps": round(per_frame * fps, 4)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--viewer-fps", type=float, default=2.0)
    args = parser.parse_args()
    path = clip_path(args.clip)
    ring = ring_figures(path, args.repeat)
    viewer = viewer_figures(path, args.repeat, args.viewer_fps)
    print(f"clip: {path}")
    r = ring["ring"]
    for mode in ("keyframes", "sampled"):
        print(f"packet ring vs {mode} decode of the same {r['video_s']} s: ring {r['cpu_s']:.4f} CPU s, decode "
              f"{ring[mode]['decode_cpu_s']:.3f} CPU s → the ring costs {ring[mode]['ring_fraction_of_decode']:.2%} of it")
    print(f"ring memory: {r['kib_per_buffered_second']} KiB per buffered second (the stream's bitrate; "
          f"{r['mib_per_camera_at_14_s']} MiB per camera at the default 14 s); cutting a 10 s clip: "
          f"{r['cut_10_s_clip_ms']} ms ({r['clip_kib']} KiB)")
    for size, v in viewer.items():
        print(f"one live viewer, {size:>4s}: {v['ms_per_frame']} ms CPU per frame → "
              f"{list(v.values())[1]:.1%} of a core at {args.viewer_fps:g} fps")


if __name__ == "__main__":
    main()
