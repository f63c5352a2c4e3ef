"""Pure placement and rebalancing of cameras onto shards (no Ray): stable, bounded, hysteretic.

A camera's cost is an estimate of the CPU seconds per second it takes (decode + analysis), measured from
its rates once it runs and estimated from its config before that. A shard is bounded both by camera count
and by total cost.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from matakota.config import CameraConfig, DecodeMode
from matakota.core.messages import Capacity

ASSUMED_SOURCE_FPS = 25.0  # decode rate assumed for a camera not yet measured (sampled/all modes)
DECODE_S_PER_FRAME = 0.001  # full 360p–480p H.264 decode on one core (~400–1,000 frames/s measured)
ANALYSE_S_PER_FRAME = 0.002  # letterbox, (de)serialisation, tracking and analytics per analysed frame


def camera_cost(fps_in: float, fps_analysed: float) -> float:
    """Measured: from the rates a camera reports."""
    return fps_in * DECODE_S_PER_FRAME + fps_analysed * ANALYSE_S_PER_FRAME


def estimated_cost(camera: CameraConfig) -> float:
    """Before it runs: from its config (keyframes decode about one frame per analysed frame)."""
    fps = camera.analytics.fps
    decoded = fps if camera.decode.mode is DecodeMode.KEYFRAMES else ASSUMED_SOURCE_FPS
    return camera_cost(decoded, fps)


@dataclass
class Shard:
    name: str
    node: str | None = None
    cameras: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Move:
    camera: str
    source: str
    target: str


def load(shard: Shard, costs: dict[str, float]) -> float:
    return sum(costs.get(camera, 0.0) for camera in shard.cameras)


def place(cameras: list[str], shards: dict[str, Shard], costs: dict[str, float], capacity: Capacity) -> list[str]:
    """Put each camera on the shard with the most headroom that still fits it; cameras already placed stay.

    Returns the cameras that fit nowhere (the caller starts more shards for them).
    """
    loads = {name: load(shard, costs) for name, shard in shards.items()}
    # spread over nodes: prefer shards on nodes that hold fewer cameras
    per_node: dict[str | None, int] = {}
    for shard in shards.values():
        per_node[shard.node] = per_node.get(shard.node, 0) + len(shard.cameras)
    unplaced = []
    for camera in cameras:
        cost = costs.get(camera, 0.0)
        fitting = [s for s in shards.values()
                   if len(s.cameras) < capacity.cameras_per_shard and loads[s.name] + cost <= capacity.max_load]
        if not fitting:
            unplaced.append(camera)
            continue
        best = min(fitting, key=lambda s: (loads[s.name] / capacity.max_load
                                           + len(s.cameras) / capacity.cameras_per_shard, per_node[s.node], s.name))
        best.cameras.add(camera)
        loads[best.name] += cost
        per_node[best.node] += 1
    return unplaced


def emptiest_node(cpus: dict[str, float], shards: list[Shard]) -> str | None:
    """The node a new shard should start on: fewest shards per CPU among nodes with CPUs (a KubeRay head has
    none), ties to the bigger node; None when no node has CPUs."""
    on = Counter(shard.node for shard in shards)
    workers = [node for node, count in cpus.items() if count > 0]
    return min(workers, key=lambda node: (on[node] / cpus[node], -cpus[node], node), default=None)


def shards_needed(costs: dict[str, float], capacity: Capacity, headroom: float = 0.8) -> int:
    """Shards for this fleet, filled to `headroom` of their bounds so failover has somewhere to go."""
    if not costs:
        return 1
    by_count = len(costs) / (capacity.cameras_per_shard * headroom)
    by_cost = sum(costs.values()) / (capacity.max_load * headroom)
    return max(1, int(-(-max(by_count, by_cost) // 1)))


def rebalance(shards: dict[str, Shard], costs: dict[str, float], capacity: Capacity, *,
              tolerance: float = 0.25, max_moves: int = 20, pinned: frozenset[str] = frozenset()) -> list[Move]:
    """Moves that bring shard loads within `tolerance` of the mean, heaviest first, at most `max_moves`.

    Hysteresis: nothing moves while every shard is within the tolerance band, so wobbling load never thrashes;
    a move only happens if it lowers the peak of the two shards by `tolerance × mean` or more (a move that
    merely swaps which shard is heavier never happens), and `pinned` cameras (moved recently) stay put.
    """
    if len(shards) < 2:
        return []
    loads = {name: load(shard, costs) for name, shard in shards.items()}
    counts = {name: len(shard.cameras) for name, shard in shards.items()}
    mean = sum(loads.values()) / len(loads)
    moves: list[Move] = []
    while len(moves) < max_moves:
        source = max(loads, key=loads.get)
        target = min(loads, key=loads.get)
        if loads[source] <= mean * (1 + tolerance) or source == target:
            break
        gap = loads[source] - loads[target]
        movable = [c for c in shards[source].cameras if c not in pinned and c not in {m.camera for m in moves}]
        # a move must lower the pair's peak by a real margin, else it only relocates the imbalance
        margin = tolerance * mean
        candidates = [c for c in movable
                      if costs.get(c, 0.0) <= gap - margin and counts[target] < capacity.cameras_per_shard
                      and loads[target] + costs.get(c, 0.0) <= capacity.max_load]
        if not candidates:
            break
        # the camera whose move best halves the gap
        camera = min(candidates, key=lambda c: (abs(gap / 2 - costs.get(c, 0.0)), c))
        moves.append(Move(camera, source, target))
        loads[source] -= costs.get(camera, 0.0)
        loads[target] += costs.get(camera, 0.0)
        counts[source] -= 1
        counts[target] += 1
    return moves
