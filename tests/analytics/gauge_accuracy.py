"""The gauge reader judged on generated scenes (tests/analytics/gauge_scenes.py): reading errors and false alarms per
scene family. The reader was tuned on seeds 0–99; tests judge it on seeds from 1000 on.

    .venv/bin/python -m tests.analytics.gauge_accuracy --seeds 2000-2099     # the figures in the notes

Each seed of a family is one camera (`look`) seen at six random levels (accuracy), then through a flood: readings every
`STEP_S` while the water rises 40 → 150 cm and falls back (`siaga` 100 cm, `awas` 140 cm, raise_after 3), and a calm
spell 8 cm below siaga. A false alarm is a level raised while the water is more than `READ_NOISE_CM` below it, a level
raised twice in one flood, or a rise alarm in the calm spell.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from matakota.analytics.gauge import READ_NOISE_CM, GaugeWatch, read_gauge
from matakota.config.analytics import GaugeConfig
from matakota.core.events import EventState, EventType
from tests.analytics.gauge_scenes import FAMILIES, look, render

STEP_S = 2.0
LEVELS = {"siaga": 100.0, "awas": 140.0}
# (seconds, from cm, to cm): low, a rise at 110 cm/min, the crest, the fall, low again
FLOOD = [(10, 40.0, 40.0), (60, 40.0, 150.0), (10, 150.0, 150.0), (60, 150.0, 40.0), (10, 40.0, 40.0)]
CALM_CM, CALM_S = 92.0, 60


def view_of(seed: int, family: str):
    return look(seed * 31 + FAMILIES.index(family) * 1000, family)


def water_levels(plan=FLOOD, step_s: float = STEP_S) -> np.ndarray:
    return np.concatenate([np.linspace(a, b, int(s / step_s), endpoint=False) for s, a, b in plan])


def gauge_config(scene) -> GaugeConfig:
    height, width = scene.image.shape[:2]
    return GaugeConfig(region=(0, 0, width, height), calibration=scene.calibration, levels=LEVELS, raise_after=3,
                       hysteresis_cm=5, every_s=0, max_rise_cm_per_min=150,
                       rise={"cm_per_min": 60, "window_s": 20, "hysteresis_cm_per_min": 10})


@dataclass
class FamilyResult:
    errors: list[float] = field(default_factory=list)  # |read − true| of readings with a level, water visible
    unread: int = 0  # water visible, but the reading is uncertain (counts as a miss)
    false_alarms: list[str] = field(default_factory=list)
    raise_delays_s: list[float] = field(default_factory=list)  # alarm raised − true crossing
    rise_alarms: int = 0  # raised during floods

    @property
    def within_5cm(self) -> float:
        total = len(self.errors) + self.unread
        return sum(e <= 5 for e in self.errors) / max(1, total)


def accuracy(result: FamilyResult, seed: int, family: str) -> None:
    view = view_of(seed, family)
    for k, level in enumerate(np.random.default_rng(seed).uniform(5, 195, 6)):
        scene = render(view, float(level), seed * 10 + k)
        if not scene.visible:
            continue
        reading = read_gauge(scene.image, gauge_config(scene).region_pixels(), scene.calibration, 0.0)
        if reading.level_cm is None:
            result.unread += 1
        else:
            result.errors.append(abs(reading.level_cm - scene.level_cm))


def alarms(result: FamilyResult, seed: int, family: str) -> None:
    view = view_of(seed, family)
    for name, truth in (("flood", water_levels()), ("calm", np.full(int(CALM_S / STEP_S), CALM_CM))):
        config, watch, raised = None, None, defaultdict(int)
        for i, level in enumerate(truth):
            scene = render(view, float(level), seed * 1000 + i)
            if watch is None:
                config = gauge_config(scene)
                watch = GaugeWatch(config, "gauge", "site")
            t = i * STEP_S
            _, events = watch.update(read_gauge(scene.image, config.region_pixels(), scene.calibration, t))
            for event in events:
                if event.state is not EventState.RAISED:
                    continue
                raised[event.key] += 1
                label = f"{family}/{seed}/{name}: {event.key} raised at {t:.0f} s, water {level:.0f} cm"
                if event.type is EventType.FLOOD_RISE:
                    if name == "calm":
                        result.false_alarms.append(label)
                    else:
                        result.rise_alarms += 1
                elif level < LEVELS[event.key] - READ_NOISE_CM or raised[event.key] > 1:
                    result.false_alarms.append(label)
                else:
                    crossed = np.flatnonzero(truth >= LEVELS[event.key])[0] * STEP_S
                    result.raise_delays_s.append(t - crossed)


def evaluate(seeds, families=FAMILIES, with_alarms: bool = True) -> dict[str, FamilyResult]:
    results = {family: FamilyResult() for family in families}
    for family in families:
        for seed in seeds:
            accuracy(results[family], seed, family)
            if with_alarms:
                alarms(results[family], seed, family)
    return results


def report(results: dict[str, FamilyResult]) -> str:
    lines = [f"{'family':11s} {'readings':>8s} {'≤5 cm':>7s} {'median':>7s} {'p95':>6s} {'max':>6s} {'unread':>6s} "
             f"{'false alarms':>12s} {'raise delay s (median, max)':>28s}"]
    everything = FamilyResult()
    for family, r in [*results.items(), ("all", everything)]:
        if family != "all":
            everything.errors += r.errors
            everything.unread += r.unread
            everything.false_alarms += r.false_alarms
            everything.raise_delays_s += r.raise_delays_s
        e, d = np.asarray(r.errors or [np.nan]), np.asarray(r.raise_delays_s or [np.nan])
        lines.append(f"{family:11s} {len(r.errors) + r.unread:8d} {r.within_5cm:7.1%} {np.median(e):7.2f} "
                     f"{np.percentile(e, 95):6.2f} {e.max():6.1f} {r.unread:6d} {len(r.false_alarms):12d} "
                     f"{np.median(d):19.1f}, {d.max():6.1f}")
    return "\n".join(lines + everything.false_alarms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="2000-2019", help="first-last (inclusive)")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--no-alarms", action="store_true", help="readings only (faster)")
    args = parser.parse_args()
    first, last = (int(v) for v in args.seeds.split("-"))
    print(report(evaluate(range(first, last + 1), args.families.split(","), not args.no_alarms)))


if __name__ == "__main__":
    main()
