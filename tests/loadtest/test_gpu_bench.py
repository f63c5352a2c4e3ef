"""The GPU benchmark: refuses clearly without CUDA; its report (same format as capacity.json) with the CPU provider."""

from __future__ import annotations

import json

import onnxruntime as ort
import pytest

from loadtest import gpu_bench
from loadtest.report import write_report


@pytest.mark.skipif("CUDAExecutionProvider" in ort.get_available_providers(), reason="this machine has CUDA")
def test_without_cuda_it_fails_clearly(capsys):
    assert gpu_bench.main(["--batches", "1", "--seconds", "0.1"]) == 2
    assert "CUDAExecutionProvider" in capsys.readouterr().err


def test_report_in_the_capacity_format_from_the_cpu_provider(model_path, tmp_path):
    results = gpu_bench.measure(["CPUExecutionProvider"], [1, 2], 0.2, model_path)
    assert set(results["CPUExecutionProvider"]) == {1, 2}
    report = gpu_bench.build_report(results, {"cpu": "test", "cores": 2, "gpu": None, "onnxruntime": ort.__version__},
                                    1.0, tmp_path)
    json_path, md_path = write_report(tmp_path, "capacity-gpu", "Detector capacity on GPU", report)
    data = json.loads(json_path.read_text())
    assert data["figures"]["gpu_fps"] == max(results["CPUExecutionProvider"].values())
    assert [row["name"] for row in data["rows"]][:2] == ["CPUExecutionProvider batch 1", "CPUExecutionProvider batch 2"]
    assert data["rows"][0]["ratio"] == 1.0
    assert "CPUExecutionProvider batch 2" in md_path.read_text()
    assert (tmp_path / "capacity-gpu-batch.png").stat().st_size > 0
