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


def test_keyframes_at_one_fps_and_sampled_decode_at_five():
    one, five = (sizing.size(fps, sizing.FIGURES) for fps in (1.0, 5.0))
    assert (one.decode, five.decode) == ("keyframes", "sampled")
    assert five.cpu_nodes > one.cpu_nodes and five.gpus >= one.gpus
    assert one.frames_per_s == pytest.approx(10_417)


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
