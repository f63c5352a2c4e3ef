"""The city's bill: what 10,417 cameras need per stream profile, from figures measured in the same run.

Pure arithmetic over the rows of loadtest/bench_profiles.py and the detector's figures (loadtest/capacity.py),
and the GPU report's when one exists (loadtest/gpu_bench.py). Every line says how it was computed.
k8s/sizing.py turns the same figures into node counts (`profile_figures` of the report).
"""

from __future__ import annotations

import math

CITY_CAMERAS = 10_417
UTILISATION = 0.7  # plan at 70 % busy, as k8s/sizing.py does
CAMERAS_PER_SHARD = 64  # the production overlay's shards
CLIP_PACKETS_S = 14.0  # what a camera that raises alarms keeps for clips (config/camera.py ClipConfig.keep_s)
REFERENCE_PROFILE = "1080p25-h264-gop2"  # k8s/sizing.py's default figures


def bill_row(row: dict, cpu_inference_fps_per_core: float, gpu_fps: float | None,
             cameras: int = CITY_CAMERAS) -> dict:
    """One profile and decode mode: cores, memory, inference and bandwidth for `cameras`, with the arithmetic."""
    shards = math.ceil(cameras / CAMERAS_PER_SHARD)
    cores = cameras / row["cameras_per_shard_core"] / UTILISATION
    memory = (cameras * row["mib_per_camera"] + shards * row["shard_fixed_mib"]) / 1024
    frames = cameras * row["analysed_fps_target"]
    cpu_inference = frames / cpu_inference_fps_per_core / UTILISATION
    gpus = math.ceil(frames / gpu_fps / UTILISATION) if gpu_fps else None
    gbps = cameras * row["mbps"] / 1000
    clip_mib = row["mbps"] * 1e6 / 8 * CLIP_PACKETS_S / 2**20
    n = f"{cameras:,}"
    return {
        "profile": row["profile"], "mode": row["mode"], "analysed_fps": row["analysed_fps_target"],
        "shard_cores": cores, "memory_gib": memory, "detector_fps": frames, "cpu_inference_cores": cpu_inference,
        "gpus": gpus, "gbps": gbps, "clip_mib_per_alarm_camera": clip_mib,
        "arithmetic": {
            "shard_cores": f"{n} ÷ {row['cameras_per_shard_core']:.1f} cameras per core ÷ {UTILISATION} = {cores:,.0f}",
            "memory_gib": f"({n} × {row['mib_per_camera']:.1f} MiB + {shards} shards × {row['shard_fixed_mib']:.0f} "
                          f"MiB) ÷ 1024 = {memory:,.0f}",
            "cpu_inference_cores": f"{n} × {row['analysed_fps_target']:g} fps ÷ {cpu_inference_fps_per_core:.1f} "
                                   f"frames/s per core ÷ {UTILISATION} = {cpu_inference:,.0f}",
            "gpus": (f"{frames:,.0f} frames/s ÷ {gpu_fps:,.0f} per GPU ÷ {UTILISATION} → {gpus}" if gpu_fps else
                     "missing: no GPU has measured the detector yet (loadtest/gpu_bench.py)"),
            "gbps": f"{n} × {row['mbps']:g} Mbit/s ÷ 1000 = {gbps:.1f}",
        },
    }


def city_bill(rows: list[dict], cpu_inference_fps_per_core: float, gpu_fps: float | None) -> list[dict]:
    return [bill_row(row, cpu_inference_fps_per_core, gpu_fps) for row in rows]


def profile_figures(rows: list[dict]) -> dict[str, dict]:
    """k8s/sizing.py's figures per profile; a profile measured in `keyframes` only takes the `sampled` figures of
    the same resolution and codec (decoding every frame costs the same whatever the GOP)."""
    from loadtest.streams import PROFILES

    by = {(r["profile"], r["mode"]): r for r in rows}
    out = {}
    for name in dict.fromkeys(r["profile"] for r in rows):
        profile = PROFILES[name]
        figures = {"source_fps": float(profile.fps), "gop_s": float(profile.gop_s), "camera_mbps": profile.mbps}
        sibling = next((by[p, "sampled"] for p, q in PROFILES.items() if (p, "sampled") in by
                        and (q.resolution, q.codec) == (profile.resolution, profile.codec)), None)
        measured = {"keyframes": by.get((name, "keyframes")), "sampled": by.get((name, "sampled")) or sibling}
        for mode, row in measured.items():
            if row and row["mib_per_camera"] and row["mib_per_camera"] > 0:
                figures[f"{mode}_cameras_per_core"] = row["cameras_per_shard_core"]
                figures[f"{mode}_mib_per_camera"] = row["mib_per_camera"]
                figures["shard_fixed_mib"] = max(1.0, row["shard_fixed_mib"])
        out[name] = figures
    return out


def markdown(bill: list[dict], gpu_fps: float | None) -> str:
    gpu_note = (f"GPUs from {gpu_fps:,.0f} frames/s per GPU measured by loadtest/gpu_bench.py." if gpu_fps else
                "**GPU figures are missing**: no GPU has been lent to measure the detector (loadtest/gpu_bench.py); "
                "the CPU inference column is what detecting on CPU would take instead.")
    lines = [f"## The city's bill: {CITY_CAMERAS:,} cameras", "",
             f"Planned at {UTILISATION:.0%} utilisation, {CAMERAS_PER_SHARD} cameras per shard, from the per-profile "
             f"figures above (same run). {gpu_note} `k8s/sizing.py --report reports/capacity.json --profile NAME` "
             "turns a profile into node counts. A camera that raises alarms (rules, a flood gauge) also keeps its last "
             f"{CLIP_PACKETS_S:g} s of packets for clips: its bitrate × {CLIP_PACKETS_S:g} s more (last column); a "
             "camera that only counts keeps none.", "",
             "| profile | decode | analysed fps | shard cores | shard memory GiB | frames/s to detect "
             "| CPU inference cores | GPUs | Gbit/s from cameras | + MiB per camera raising alarms |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for b in bill:
        lines.append(f"| {b['profile']} | {b['mode']} | {b['analysed_fps']:g} | {b['shard_cores']:,.0f} "
                     f"| {b['memory_gib']:,.0f} | {b['detector_fps']:,.0f} | {b['cpu_inference_cores']:,.0f} "
                     f"| {'missing' if b['gpus'] is None else b['gpus']} | {b['gbps']:.1f} "
                     f"| {b['clip_mib_per_alarm_camera']:.1f} |")
    lines += ["", "How each line was computed:", ""]
    for b in bill:
        a = b["arithmetic"]
        lines.append(f"- **{b['profile']} {b['mode']}**: cores {a['shard_cores']}; memory {a['memory_gib']}; "
                     f"CPU inference {a['cpu_inference_cores']}; GPUs {a['gpus']}; Gbit/s {a['gbps']}.")
    return "\n".join(lines) + "\n"
