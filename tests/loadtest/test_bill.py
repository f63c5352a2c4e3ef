"""The city's bill from per-profile rows: the arithmetic, the missing GPU, the figures k8s/sizing.py takes."""

from __future__ import annotations

import pytest

from loadtest import bill


def row(profile="1080p25-h264-gop2", mode="keyframes", **over) -> dict:
    return {"profile": profile, "mode": mode, "analysed_fps_target": 0.5, "cameras_per_shard_core": 32.0,
            "mib_per_camera": 6.0, "shard_fixed_mib": 128.0, "mbps": 4.0, **over}


def test_a_line_of_the_bill_multiplies_what_one_camera_costs():
    line = bill.bill_row(row(), cpu_inference_fps_per_core=25.0, gpu_fps=None)
    assert line["shard_cores"] == pytest.approx(10_417 / 32 / 0.7)  # 465
    assert line["memory_gib"] == pytest.approx((10_417 * 6 + 163 * 128) / 1024)  # 163 shards of 64 cameras
    assert line["cpu_inference_cores"] == pytest.approx(10_417 * 0.5 / 25 / 0.7)
    assert line["gbps"] == pytest.approx(41.668)
    assert line["clip_mib_per_alarm_camera"] == pytest.approx(6.68, abs=0.01)  # 4 Mbit/s × 14 s
    assert line["gpus"] is None and "missing" in line["arithmetic"]["gpus"]
    assert line["arithmetic"]["shard_cores"] == "10,417 ÷ 32.0 cameras per core ÷ 0.7 = 465"
    assert bill.bill_row(row(), 25.0, gpu_fps=2_000)["gpus"] == 4  # 5,208.5 / (2,000 × 0.7) → 3.7


def test_a_profile_measured_in_keyframes_only_takes_its_siblings_sampled_figures():
    rows = [row(), row(mode="sampled", cameras_per_shard_core=4.0, mib_per_camera=30.0),
            row(profile="1080p25-h264-gop4", cameras_per_shard_core=60.0), row(profile="1080p25-h265-gop4")]
    figures = bill.profile_figures(rows)
    assert figures["1080p25-h264-gop4"]["sampled_cameras_per_core"] == 4.0  # from the GOP 2 s sibling
    assert figures["1080p25-h264-gop4"]["keyframes_cameras_per_core"] == 60.0
    assert figures["1080p25-h264-gop4"]["gop_s"] == 4.0
    assert "sampled_cameras_per_core" not in figures["1080p25-h265-gop4"]  # no H.265 sibling measured
