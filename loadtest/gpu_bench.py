"""GPU variant of the capacity report: the Detector on ONNX Runtime's CUDA and TensorRT providers, and NVDEC decode.

    .venv/bin/python -m loadtest.gpu_bench [--batches 1,2,4,...,256] [--seconds 3] [--decode-streams 4] [--out reports]

Needs an NVIDIA GPU and the CUDA build of ONNX Runtime (`pip install -e ".[gpu]"`, never together with
`.[cpu]`); no network: the model and the demo clip come from the asset cache or MATAKOTA_ASSET_MIRROR, and the
stream profiles are encoded with `ffmpeg` (loadtest/streams.py, cached). In one run it measures:

1. raw ONNX Runtime frames/s vs batch size on each provider (the prepared end-to-end model, models/yolox.py,
   uint8 in, NMS inside, random frames; TensorRT in fp16, engines cached next to the model), checking each
   session really runs on the provider asked for (a GPU build falls back silently; TensorRT without its
   libraries is reported as skipped, CUDA falling back is an error);
2. the Serve-batched Detector on the GPU (a local Ray, the real app) on the best provider and batch, fed
   4-frame micro-batches (a shard's tick) by enough producers to fill that batch;
3. NVDEC (`decode.hwaccel: cuda`) vs CPU decode of the 1080p stream profiles (loadtest/gpu_decode.py).

It writes reports/capacity-gpu.{json,md,png} in the capacity report's format; `figures.gpu_fps` (the best raw
figure) feeds k8s/sizing.py, the decode figures are under `decode` per profile. Bounded: under 8 minutes
(TensorRT builds two engine profiles, largest batch first, then cached).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from loadtest import bench_detector, gpu_decode  # noqa: E402
from loadtest.capacity import free_port, read_token  # noqa: E402
from loadtest.report import Figure, machine, plot, write_report  # noqa: E402
from loadtest.streams import stream_file  # noqa: E402
from matakota.core import assets  # noqa: E402
from matakota.models.frames import INPUT_SIZE, FrameBatch  # noqa: E402
from matakota.models.yolox import YoloxDetector  # noqa: E402

GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
MICRO_BATCH = 4  # frames per Serve request: a shard tick's ready frames


class NoGpuError(RuntimeError):
    """This machine cannot run the GPU benchmark (no CUDA build of ONNX Runtime, or no GPU)."""


def gpu_name() -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out.splitlines()[0] if out else None


def check_gpu() -> str:
    import onnxruntime as ort

    missing = [p for p in GPU_PROVIDERS if p not in ort.get_available_providers()]
    if "CUDAExecutionProvider" in missing:
        raise NoGpuError(f"ONNX Runtime {ort.__version__} has no CUDAExecutionProvider (available: "
                         f"{', '.join(ort.get_available_providers())}); install the GPU build: pip install -e '.[gpu]'")
    name = gpu_name()
    if name is None:
        raise NoGpuError("nvidia-smi finds no NVIDIA GPU")
    return name


def random_batch(batch: int) -> FrameBatch:
    rng = np.random.default_rng(batch)
    return FrameBatch(rng.integers(0, 255, (batch, INPUT_SIZE, INPUT_SIZE, 3), np.uint8),
                      np.ones(batch, np.float32), np.full((batch, 2), INPUT_SIZE, np.int32))


def frames_per_s(detector: YoloxDetector, batch: int, seconds: float) -> float:
    frames = random_batch(batch)
    detector.detect_batch(frames)  # warm-up
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        detector.detect_batch(frames)
        done += batch
    return done / (time.perf_counter() - started)


def measure(providers: list[str], batches: list[int], seconds: float,
            model: Path) -> tuple[dict[str, dict[int, float]], dict[str, str]]:
    """frames/s by provider and batch size, and the providers skipped with why: one whose session falls back
    to another is skipped (TensorRT without its libraries), except CUDA (no usable GPU: NoGpuError)."""
    results, skipped = {}, {}
    for provider in providers:
        detector = YoloxDetector(model, providers=(provider,))
        if detector.provider != provider:
            reason = f"asked for {provider}, the session runs on {detector.provider}"
            if provider == "CUDAExecutionProvider":
                raise NoGpuError(reason)
            print(f"{provider}: skipped ({reason})", flush=True)
            skipped[provider] = reason
            continue
        for batch in (max(batches), min(batches)):  # TensorRT: one engine profile spanning all batch sizes
            detector.detect_batch(random_batch(batch))
        results[provider] = {batch: frames_per_s(detector, batch, seconds) for batch in batches}
        print(f"{provider}: " + ", ".join(f"b{b} {fps:,.0f}" for b, fps in results[provider].items()), flush=True)
    return results, skipped


def best_of(results: dict[str, dict[int, float]]) -> tuple[str, int, float]:
    """(provider, batch, frames/s) of the fastest raw run."""
    return max(((p, b, fps) for p, by_batch in results.items() for b, fps in by_batch.items()), key=lambda r: r[2])


def measure_serve(provider: str, batch: int, seconds: float) -> dict:
    """The Serve-batched Detector on one GPU (a local Ray with the real app), `provider` first, merging up to
    `batch` frames, fed MICRO_BATCH-frame requests by enough producers to fill two batches at once."""
    import ray

    from matakota.cluster import bootstrap
    from matakota.config import parse_config

    producers = max(8, 2 * batch // MICRO_BATCH)
    detector = {"providers": [provider, "CUDAExecutionProvider"], "num_gpus": 1, "max_batch_size": batch,
                "max_ongoing_requests": max(producers, batch), "max_queued_requests": -1}
    read_token()  # the API refuses to start without a tokens file
    ray.init(address="local", num_cpus=os.cpu_count(), num_gpus=1, namespace="matakota", include_dashboard=False,
             log_to_driver=False)  # a Ray of its own, never one already running here
    try:
        bootstrap.deploy(parse_config({"api": {"port": free_port()}, "detector": detector}))
        handle = bootstrap.detector_handle()
        micro = random_batch(MICRO_BATCH)
        asyncio.run(bench_detector.serve_rate(handle, micro, producers, seconds))  # warm-up: engines, batch sizes
        fps = asyncio.run(bench_detector.serve_rate(handle, micro, producers, seconds))
        health = handle.health.remote().result()
    finally:
        bootstrap.shutdown()
    print(f"Serve-batched on {health['provider']}, max batch {batch}, {producers} producers × {MICRO_BATCH}: "
          f"{fps:,.0f} frames/s", flush=True)
    return {"fps": fps, "provider": health["provider"], "max_batch_size": batch, "producers": producers,
            "micro_batch": MICRO_BATCH, "batches": health["batches"]}


def decode_rows(decode: dict[str, dict[str, dict]]) -> list[Figure]:
    rows = []
    for profile, runs in decode.items():
        for mode, unit in (("all", "frames/s"), ("keyframes", "keyframes/s")):
            cpu, cuda = runs[f"none {mode}"], runs[f"cuda {mode}"]
            name = f"{profile} decode {mode}, NVDEC" + ("" if cuda["decoder"] == "cuda" else " (fell back to CPU)")
            rows.append(Figure(name, cuda["fps"], unit, f"{profile} decode {mode}, CPU", cpu["fps"]))
    return rows


def build_report(results: dict[str, dict[int, float]], machine_info: dict, wall_s: float, out_dir: Path, *,
                 skipped: dict[str, str] | None = None, serve: dict | None = None,
                 decode: dict[str, dict[str, dict]] | None = None) -> dict:
    rows, best = [], {}
    for provider, by_batch in results.items():
        b1 = by_batch[min(by_batch)]
        for batch, fps in by_batch.items():
            rows.append(Figure(f"{provider} batch {batch}", fps, "frames/s", f"{provider} batch {min(by_batch)}", b1))
        best[provider] = max(by_batch.values())
    top_provider, top_batch, top = best_of(results)
    rows += [Figure(f"{provider} best batch", fps, "frames/s", "best provider", top) for provider, fps in best.items()]
    if serve:
        rows.append(Figure(f"Serve-batched Detector ({serve['provider']}, max batch {serve['max_batch_size']})",
                           serve["fps"], "frames/s", f"raw {top_provider} batch {top_batch}", top))
    rows += decode_rows(decode or {})
    chart = plot(out_dir / "capacity-gpu-batch.png", "Detector frames/s vs batch size", "batch size", "frames/s",
                 {p: (list(b), list(b.values())) for p, b in results.items()}, logx=True)
    figures = gpu_decode.nvdec_figures(decode) if decode else {}
    by_profile = {profile: {key: figures[key][profile] for key in figures} for profile in decode or {}}
    for profile, runs in (decode or {}).items():
        by_profile[profile]["nvdec_fallback"] = runs["cuda all"]["fallback"]
    return {"machine": machine_info, "mode": "gpu", "wall_s": wall_s, "detector_gpu": results,
            "skipped_providers": skipped or {}, "serve": serve, "decode": by_profile, "decode_runs": decode or {},
            "rows": rows, "figures": {"gpu_fps": top}, "plots": [str(chart)]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    parser.add_argument("--seconds", type=float, default=3.0, help="per provider and batch size (Serve: twice)")
    parser.add_argument("--providers", default=",".join(GPU_PROVIDERS))
    parser.add_argument("--decode-streams", type=int, default=4, help="camera sessions decoding at once")
    parser.add_argument("--profiles", default=",".join(gpu_decode.PROFILES), help="stream profiles to decode")
    parser.add_argument("--out", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        gpu = check_gpu()
    except NoGpuError as error:
        print(f"gpu_bench: no GPU here: {error}", file=sys.stderr)
        return 2
    try:
        results, skipped = measure(args.providers.split(","), [int(b) for b in args.batches.split(",")],
                                   args.seconds, assets.fetch("yolox-nano"))
    except NoGpuError as error:
        print(f"gpu_bench: no GPU here: {error}", file=sys.stderr)
        return 2
    provider, batch, _ = best_of(results)
    serve = measure_serve(provider, batch, args.seconds * 2)
    try:
        files = {p: stream_file(p) for p in args.profiles.split(",")}
    except (OSError, subprocess.CalledProcessError) as error:  # no ffmpeg to encode the profiles
        print(f"gpu_bench: decode comparison skipped: cannot encode the stream profiles: {error}", file=sys.stderr)
        files = {}
    decode = gpu_decode.compare(files, args.decode_streams)
    args.out.mkdir(parents=True, exist_ok=True)
    report = build_report(results, machine(gpu), time.perf_counter() - started, args.out, skipped=skipped,
                          serve=serve, decode=decode)
    paths = write_report(args.out, "capacity-gpu", "Detector capacity on GPU", report)
    print(f"best: {report['figures']['gpu_fps']:,.0f} frames/s ({provider}, batch {batch}); Serve-batched "
          f"{serve['fps']:,.0f}; wrote {', '.join(map(str, paths))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
