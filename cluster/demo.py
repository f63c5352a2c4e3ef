"""`matakota demo`: the demo fleet, cameras from the two demo clips (looped files standing for live cameras)."""

from __future__ import annotations

from importlib import resources

import yaml

from matakota.cluster.up import run_fleet
from matakota.config import Config, parse_config

EXAMPLES = resources.files("matakota.examples")  # package data: found in any install
SITES = ("simpang-lima", "kota-lama")


def demo_config(cameras: int, port: int) -> Config:
    """`cameras` cameras from the two demo clips, on two sites; the people clip's cameras count visits."""
    people = yaml.safe_load(EXAMPLES.joinpath("cameras", "one-by-one.yaml").read_text())
    fleet = []
    for index in range(cameras):
        is_people = index % 2 == 0
        fleet.append({
            "id": f"cam-{index}",
            "site": SITES[index % 4 // 2],
            "url": "asset:one-by-one-person-detection" if is_people else "asset:car-detection",
            "analytics": people if is_people else {"fps": 1.0},
        })
    return parse_config({"api": {"port": port}, "fleet": {"allow_files": True, "cameras": fleet}}, "demo")


def run_demo(cameras: int, duration: float, port: int) -> int:
    return run_fleet(demo_config(cameras, port), duration or None)
