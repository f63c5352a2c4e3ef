"""The capacity report end to end in --quick mode, its JSON, and the sizing table made from it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(420)


def load_sizing():
    spec = importlib.util.spec_from_file_location("matakota_k8s_sizing", REPO / "k8s" / "sizing.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    run = subprocess.run([sys.executable, "-m", "loadtest.capacity", "--quick", "--out", str(out)], cwd=REPO,
                         capture_output=True, text=True, timeout=400)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return out, json.loads((out / "capacity.json").read_text()), run.stdout


def test_report_holds_every_figure_as_a_ratio_with_the_machine(report):
    out, data, stdout = report
    assert data["serve_vs_raw"] > 0 and data["http_vs_raw"] > 0
    assert data["detector"]["serve_vs_raw"] == data["serve_vs_raw"]
    assert data["machine"]["cores"] >= 1 and data["machine"]["cpu"]
    for section in ("detector", "profiles", "analytics", "store", "fleet", "bill"):
        assert data[section], section
    assert data["fleet"]["lost"] == {"not_online": 0, "unassigned": 0, "not_online_after_rebalance": 0}
    assert {(r["profile"], r["mode"]) for r in data["profiles"]} == {("720p25-h264-gop2", "keyframes"),
                                                                      ("720p25-h264-gop2", "sampled")}
    for row in data["profiles"]:
        assert row["latency_p99_s"] is not None and row["shard_vs_raw"] > 0 and row["mib_per_camera"] > 0, row
    markdown = (out / "capacity.md").read_text()
    assert "## Per stream profile" in markdown and "| 720p25-h264-gop2 | keyframes |" in markdown
    assert "## The city's bill: 10,417 cameras" in markdown and "GPU figures are missing" in markdown
    assert "10,417 ÷" in markdown  # the arithmetic is shown
    names = [row["name"] for row in data["rows"]]
    assert any("Serve-batched" in n for n in names) and any("latency p99" in n for n in names)
    assert all({"value", "limit", "limit_value", "ratio", "unit"} <= set(row) for row in data["rows"])
    assert markdown.count("|") > 50
    for plot in data["plots"]:
        assert Path(plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wall time" in stdout


def test_sizing_table_is_produced_from_the_report(report):
    out, data, _ = report
    sizing = load_sizing()
    figures = sizing.figures_from(data)
    assert figures["ort_cpu_fps_per_core"] == pytest.approx(data["detector"]["raw_best_fps"] / data["machine"]["cores"])
    assert figures["keyframes_cameras_per_core"] == data["profiles"][0]["cameras_per_shard_core"]
    assert "| 0.5 | keyframes |" in sizing.render(figures)
    assert sizing.main(["--report", str(out / "capacity.json")]) == 0
    assert sizing.main(["--report", str(out / "capacity.json"), "--profile", "720p25-h264-gop2"]) == 0
