"""`matakota demo`: the demo fleet, cameras from the two demo clips (looped files standing for live cameras)."""

from __future__ import annotations

from importlib import resources

import yaml

from matakota.cluster.up import run_fleet
from matakota.config import Config, parse_config

EXAMPLES = resources.files("matakota.examples")  # package data: found in any install
SITES = ("simpang-lima", "kota-lama")


def demo_config(cameras: int, port: int, metrics_port: int | None = None) -> Config:
    """`cameras` cameras from the two demo clips, on two sites; the people clip's cameras count visits. They all
    show the same room, so each site's counting plan counts its visitors at its first people camera only."""
    people = yaml.safe_load(EXAMPLES.joinpath("cameras", "one-by-one.yaml").read_text())
    fleet, plans = [], {}
    for index in range(cameras):
        is_people = index % 2 == 0
        site = SITES[index % 4 // 2]
        fleet.append({
            "id": f"cam-{index}",
            "site": site,
            "url": "asset:one-by-one-person-detection" if is_people else "asset:car-detection",
            "analytics": people if is_people else {"fps": 1.0},
        })
        if is_people and site not in plans:
            plans[site] = {"entrances": [f"cam-{index}/{zone['name']}" for zone in people["zones"]]}
    metrics = {} if metrics_port is None else {"port": metrics_port}
    return parse_config({"api": {"port": port}, "metrics": metrics, "fleet": {"allow_files": True, "cameras": fleet},
                         "reports": {"sites": plans}}, "demo")


def run_demo(cameras: int, duration: float, port: int, metrics_port: int | None = None) -> int:
    return run_fleet(demo_config(cameras, port, metrics_port), duration or None)
