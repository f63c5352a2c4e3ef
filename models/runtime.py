"""ONNX Runtime sessions: the best available execution provider, and the one really in use."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from matakota.config import PREFERRED_PROVIDERS

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)


def _provider_options(name: str, cache_dir: Path) -> dict:
    if name == "TensorrtExecutionProvider":
        return {
            "trt_fp16_enable": True,
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache_dir / "trt-engines"),
            "trt_timing_cache_enable": True,
        }
    return {}


def create_session(
    model_path: Path,
    providers: tuple[str, ...] = PREFERRED_PROVIDERS,
    intra_op_threads: int = 0,
    cache_dir: Path | None = None,
    spinning: bool = False,
) -> ort.InferenceSession:
    """A session on the first of `providers` this ONNX Runtime build offers (CPU is always the last resort).

    `spinning` off: between runs ORT's intra-op threads sleep instead of busy-waiting for the next one, so they
    leave the cores to what else runs on the machine (Serve, decoding); measured in loadtest/bench_detector.py.
    """
    import onnxruntime as ort  # here, not at the top: ORT loads in the Detector only, never in camera shards

    available = set(ort.get_available_providers())
    chosen = [name for name in providers if name in available]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    cache_dir = cache_dir or model_path.parent
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    session = ort.InferenceSession(
        str(model_path),
        sess_options=options,
        providers=[(name, _provider_options(name, cache_dir)) for name in chosen],
    )
    log.info("ONNX Runtime session for %s on %s", model_path.name, session.get_providers()[0])
    return session


def provider_in_use(session: ort.InferenceSession) -> str:
    return session.get_providers()[0]
