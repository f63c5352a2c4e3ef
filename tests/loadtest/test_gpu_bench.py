"""The GPU benchmark: refuses clearly without CUDA; its report (same format as capacity.json) with the CPU provider
and the decode comparison falling back to the CPU as a camera does."""

from __future__ import annotations

import json

import onnxruntime as ort
import pytest

from k8s.sizing import figures_from
from loadtest import gpu_bench, gpu_decode
from loadtest.report import write_report


@pytest.mark.skipif("CUDAExecutionProvider" in ort.get_available_providers(), reason="this machine has CUDA")
def test_without_cuda_it_fails_clearly(capsys):
    assert gpu_bench.main(["--batches", "1", "--seconds", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "no GPU here" in err and "CUDAExecutionProvider" in err


def test_report_in_the_capacity_format_from_the_cpu_provider(model_path, people_clip, tmp_path):
    results, skipped = gpu_bench.measure(["CPUExecutionProvider"], [1, 2], 0.2, model_path)
    assert set(results["CPUExecutionProvider"]) == {1, 2} and skipped == {}
    decode = gpu_decode.compare({"people": people_clip}, streams=1)
    report = gpu_bench.build_report(results, {"cpu": "test", "cores": 2, "gpu": None, "onnxruntime": ort.__version__},
                                    1.0, tmp_path, decode=decode)
    json_path, md_path = write_report(tmp_path, "capacity-gpu", "Detector capacity on GPU", report)
    data = json.loads(json_path.read_text())
    assert data["figures"] == {"gpu_fps": max(results["CPUExecutionProvider"].values())}
    assert figures_from(data)["gpu_fps"] == data["figures"]["gpu_fps"]  # k8s/sizing.py takes the report as is
    assert [row["name"] for row in data["rows"]][:2] == ["CPUExecutionProvider batch 1", "CPUExecutionProvider batch 2"]
    assert data["rows"][0]["ratio"] == 1.0
    people = data["decode"]["people"]
    if "CUDAExecutionProvider" not in ort.get_available_providers():  # no GPU: NVDEC fell back, no figure
        assert people["nvdec_fps"] is None and people["nvdec_fallback"].startswith("cuda decoder for h264")
        assert "people decode all, NVDEC (fell back to CPU)" in md_path.read_text()
    assert people["cpu_decode_fps"] > 0 and people["cpu_keyframes_fps"] > 0
    assert "CPUExecutionProvider batch 2" in md_path.read_text()
    assert (tmp_path / "capacity-gpu-batch.png").stat().st_size > 0
