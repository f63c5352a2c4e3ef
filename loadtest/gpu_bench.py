"""GPU variant of the capacity report: Detector frames/s vs batch size with ONNX Runtime's CUDA and TensorRT providers.

    .venv/bin/python -m loadtest.gpu_bench [--batches 1,2,4,...,256] [--seconds 3] [--out reports]

Needs an NVIDIA GPU and the CUDA build of ONNX Runtime (`pip install -e ".[gpu]"`, never together with
`.[cpu]`); no network: the model comes from the asset cache or MATAKOTA_ASSET_MIRROR. It measures the prepared
end-to-end model (models/yolox.py, uint8 in, NMS inside) on random frames, checks each session really runs on
the provider asked for (a GPU build falls back to CPU silently), and writes reports/capacity-gpu.{json,md,png}
in the capacity report's format; `figures.gpu_fps` feeds k8s/sizing.py. Bounded: well under 8 minutes
(TensorRT engine builds are cached next to the model).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from loadtest.report import Figure, machine, plot, write_report
from matakota.core import assets
from matakota.models.frames import INPUT_SIZE, FrameBatch
from matakota.models.yolox import YoloxDetector

GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


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


def frames_per_s(detector: YoloxDetector, batch: int, seconds: float) -> float:
    rng = np.random.default_rng(batch)
    frames = FrameBatch(rng.integers(0, 255, (batch, INPUT_SIZE, INPUT_SIZE, 3), np.uint8),
                        np.ones(batch, np.float32), np.full((batch, 2), INPUT_SIZE, np.int32))
    detector.detect_batch(frames)  # warm-up (and TensorRT engine build for this shape)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        detector.detect_batch(frames)
        done += batch
    return done / (time.perf_counter() - started)


def measure(providers: list[str], batches: list[int], seconds: float, model: Path) -> dict[str, dict[int, float]]:
    """frames/s by provider and batch size; a provider whose session falls back to another is an error."""
    results = {}
    for provider in providers:
        detector = YoloxDetector(model, providers=(provider,))
        if detector.provider != provider:
            raise NoGpuError(f"asked for {provider}, the session runs on {detector.provider}")
        results[provider] = {batch: frames_per_s(detector, batch, seconds) for batch in batches}
        print(f"{provider}: " + ", ".join(f"b{b} {fps:,.0f}" for b, fps in results[provider].items()), flush=True)
    return results


def build_report(results: dict[str, dict[int, float]], machine_info: dict, wall_s: float, out_dir: Path) -> dict:
    rows, best = [], {}
    for provider, by_batch in results.items():
        b1 = by_batch[min(by_batch)]
        for batch, fps in by_batch.items():
            rows.append(Figure(f"{provider} batch {batch}", fps, "frames/s", f"{provider} batch {min(by_batch)}", b1))
        best[provider] = max(by_batch.values())
    top = max(best.values())
    rows += [Figure(f"{provider} best batch", fps, "frames/s", "best provider", top) for provider, fps in best.items()]
    chart = plot(out_dir / "capacity-gpu-batch.png", "Detector frames/s vs batch size", "batch size", "frames/s",
                 {p: (list(b), list(b.values())) for p, b in results.items()}, logx=True)
    return {"machine": machine_info, "mode": "gpu", "wall_s": wall_s, "detector_gpu": results, "rows": rows,
            "figures": {"gpu_fps": top}, "plots": [str(chart)]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    parser.add_argument("--seconds", type=float, default=3.0, help="per provider and batch size")
    parser.add_argument("--providers", default=",".join(GPU_PROVIDERS))
    parser.add_argument("--out", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        gpu = check_gpu()
        results = measure(args.providers.split(","), [int(b) for b in args.batches.split(",")], args.seconds,
                          assets.fetch("yolox-nano"))
    except NoGpuError as error:
        print(f"gpu_bench: {error}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    report = build_report(results, machine(gpu), time.perf_counter() - started, args.out)
    paths = write_report(args.out, "capacity-gpu", "Detector capacity on GPU", report)
    print(f"best: {report['figures']['gpu_fps']:,.0f} frames/s; wrote {', '.join(map(str, paths))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
