"""The capacity report format shared by loadtest/capacity.py (CPU) and loadtest/gpu_bench.py (GPU).

`<name>.json` holds every figure; `<name>.md` the same as tables; PNG plots beside them. Each figure is a row
with its absolute value, the limit it is compared with (measured in the same run, or a stated goal) and
the ratio, plus the machine it ran on. `figures` holds the keys k8s/sizing.py reads (`--report`).
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    limit: str  # what it is compared with
    limit_value: float

    @property
    def ratio(self) -> float | None:
        return self.value / self.limit_value if self.limit_value else None

    def to_json(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


def machine(gpu: str | None = None) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    import onnxruntime as ort

    return {"cpu": cpu, "cores": os.cpu_count(), "gpu": gpu, "python": platform.python_version(),
            "onnxruntime": ort.__version__, "ort_providers": ort.get_available_providers()}


def describe(machine_info: dict) -> str:
    gpu = machine_info["gpu"] or "no GPU"
    return f"{machine_info['cpu']}, {machine_info['cores']} cores, {gpu}, ONNX Runtime {machine_info['onnxruntime']}"


def markdown(title: str, report: dict) -> str:
    lines = [f"# {title}", "", f"Machine: {describe(report['machine'])}. Mode: {report['mode']}, "
             f"wall time {report['wall_s']:.0f} s.", "",
             "| figure | value | unit | limit (same run) | limit value | ratio |", "|---|---:|---|---|---:|---:|"]
    for row in report["rows"]:
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}"
        lines.append(f"| {row['name']} | {row['value']:,.3g} | {row['unit']} | {row['limit']} "
                     f"| {row['limit_value']:,.3g} | {ratio} |")
    if report.get("figures"):
        lines += ["", "Figures for `k8s/sizing.py --report`:", "", "| key | value |", "|---|---:|"]
        lines += [f"| {key} | {value:,.4g} |" for key, value in report["figures"].items()]
    for section in report.get("sections", []):  # tables of their own (per profile, the city's bill)
        lines += ["", section.rstrip()]
    lines += ["", *[f"![{Path(p).stem}]({Path(p).name})" for p in report.get("plots", [])]]
    return "\n".join(lines) + "\n"


def write_report(out_dir: Path, name: str, title: str, report: dict) -> tuple[Path, Path]:
    """Write `<name>.json` and `<name>.md` in `out_dir` (plots are already there); returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {**report, "rows": [r.to_json() if isinstance(r, Figure) else r for r in report["rows"]]}
    json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    md_path.write_text(markdown(title, report))
    return json_path, md_path


def plot(path: Path, title: str, xlabel: str, ylabel: str, series: dict[str, tuple[list, list]], *,
         logx: bool = False) -> Path:
    """One line chart (matplotlib, headless); `series` maps a label to (x, y)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4))
    for label, (x, y) in series.items():
        axes.plot(x, y, marker="o", label=label)
    if logx:
        axes.set_xscale("log", base=2)
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
