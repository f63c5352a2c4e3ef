"""The sizing table in k8s/README.md is what k8s/sizing.py computes, and it reacts to measured figures."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from tests.k8s.manifests import K8S

spec = importlib.util.spec_from_file_location("matakota_k8s_sizing", K8S / "sizing.py")
sizing = importlib.util.module_from_spec(spec)
sys.modules.setdefault("matakota_k8s_sizing", sizing)
spec.loader.exec_module(sizing)


def test_readme_table_is_generated_from_the_figures():
    readme = (K8S / "README.md").read_text()
    table = readme[readme.index(sizing.BEGIN) + len(sizing.BEGIN):readme.index(sizing.END)]
    assert table.strip() == sizing.render(sizing.FIGURES).strip(), "run: python k8s/sizing.py --write"


def test_keyframes_up_to_the_keyframe_rate_then_every_frame_decoded():
    half, one, five = (sizing.size(fps, sizing.FIGURES) for fps in (0.5, 1.0, 5.0))  # a keyframe every 2 s
    assert (half.decode, one.decode, five.decode) == ("keyframes", "sampled", "sampled")
    assert half.cpu_nodes < one.cpu_nodes <= five.cpu_nodes and five.gpus >= one.gpus
    assert one.frames_per_s == pytest.approx(10_417)


def test_cpu_nodes_are_what_the_cores_or_the_memory_need_whichever_is_more():
    lean = {**sizing.FIGURES, "keyframes_mib_per_camera": 1.0}
    heavy = {**sizing.FIGURES, "keyframes_mib_per_camera": 100.0}  # ~1 TiB for 10,417 cameras
    assert sizing.size(0.5, lean).cpu_nodes == 15  # 420 cores / 30
    assert sizing.size(0.5, heavy).cpu_nodes == 24  # (10,417 × 100 + 163 × 130) MiB = 1,038 GiB / (64 GiB × 0.7)


def test_a_profile_of_the_report_gives_its_figures(tmp_path):
    report = {"figures": {"ort_cpu_fps_per_core": 40.0},
              "profile_figures": {"4mp20-h265-gop4": {"gop_s": 4.0, "source_fps": 20.0, "camera_mbps": 3.0}}}
    figures = sizing.figures_from(report, "4mp20-h265-gop4")
    assert (figures["gop_s"], figures["ort_cpu_fps_per_core"]) == (4.0, 40.0)
    with pytest.raises(sizing.SizingError, match="no profile 'vga'"):
        sizing.figures_from(report, "vga")


def test_a_measured_gpu_figure_replaces_the_assumption(tmp_path):
    report = tmp_path / "capacity.json"
    report.write_text(json.dumps({"figures": {"gpu_fps": 2_000}}))
    assert sizing.main(["--report", str(report)]) == 0
    figures = sizing.figures_from(json.loads(report.read_text()))
    assert sizing.size(5.0, figures).gpus == 38  # 52,085 / (2,000 × 0.7)


@pytest.mark.parametrize(("report", "message"), [
    ({"gpu_fsp": 1.0}, "unknown figures"),
    ({"gpu_fps": 0}, "positive number"),
    ({"gpu_fps": "fast"}, "positive number"),
])
def test_bad_reports_are_refused(report, message):
    with pytest.raises(sizing.SizingError, match=message):
        sizing.figures_from(report)
