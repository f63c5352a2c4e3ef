"""Placement and rebalancing (pure): stable, bounded, spread over nodes, hysteretic."""

from __future__ import annotations

import pytest

from matakota.actors.placement import Shard, emptiest_node, place, rebalance, shards_needed
from matakota.core.messages import Capacity

CAPACITY = Capacity(cameras_per_shard=10, max_load=1.0)


def fleet(loads: dict[str, int], cost: float = 0.05) -> tuple[dict[str, Shard], dict[str, float]]:
    shards, costs = {}, {}
    for name, count in loads.items():
        cameras = {f"{name}/cam{i}" for i in range(count)}
        shards[name] = Shard(name, node=name, cameras=cameras)
        costs.update(dict.fromkeys(cameras, cost))
    return shards, costs


def test_placing_new_cameras_moves_no_placed_camera():
    shards, costs = fleet({"a": 3, "b": 1})
    before = {name: set(s.cameras) for name, s in shards.items()}
    costs["new"] = 0.05
    assert place(["new"], shards, costs, CAPACITY) == []
    assert shards["b"].cameras == before["b"] | {"new"}  # the emptier shard
    assert shards["a"].cameras == before["a"]


@pytest.mark.parametrize(("cost", "count", "unplaced"), [(0.05, 25, 5), (0.3, 10, 4)])
def test_shards_are_bounded_by_count_and_by_cost(cost, count, unplaced):
    shards, costs = fleet({"a": 0, "b": 0})
    new = [f"n{i}" for i in range(count)]
    costs.update(dict.fromkeys(new, cost))
    assert len(place(new, shards, costs, CAPACITY)) == unplaced
    for shard in shards.values():
        assert len(shard.cameras) <= CAPACITY.cameras_per_shard
        assert sum(costs[c] for c in shard.cameras) <= CAPACITY.max_load + 1e-9


def test_placement_spreads_over_nodes():
    shards = {"a1": Shard("a1", "node-a"), "a2": Shard("a2", "node-a"), "b1": Shard("b1", "node-b")}
    costs = {f"c{i}": 0.01 for i in range(4)}
    place(sorted(costs), shards, costs, CAPACITY)
    assert len(shards["b1"].cameras) == 2  # node-b holds half, though it has one shard of three


def test_a_new_shard_starts_on_the_node_with_fewest_shards_per_cpu():
    shards = [Shard("s0", "old"), Shard("s1", "old"), Shard("s2", "big"), Shard("s3", "big"), Shard("s4", "gone")]
    assert emptiest_node({"head": 0.0, "old": 4.0, "big": 8.0, "joined": 4.0}, shards) == "joined"  # just joined
    assert emptiest_node({"head": 0.0, "old": 4.0, "big": 8.0}, shards) == "big"  # 2 per 8 CPUs < 2 per 4
    assert emptiest_node({"a": 4.0, "b": 4.0}, []) == "a"  # ties: stable
    assert emptiest_node({"head": 0.0}, shards) is None  # no node with CPUs: Ray decides


def test_rebalance_fills_a_new_shard_and_then_stops():
    shards, costs = fleet({"a": 8, "b": 8, "new": 0})
    moves = rebalance(shards, costs, CAPACITY, tolerance=0.25, max_moves=100)
    assert {m.target for m in moves} == {"new"} and {m.source for m in moves} == {"a", "b"}
    for move in moves:
        shards[move.source].cameras.remove(move.camera)
        shards[move.target].cameras.add(move.camera)
    assert len(moves) == 4  # 8/8/0 → 6/6/4: every shard within 25% of the mean (5.33)
    assert rebalance(shards, costs, CAPACITY, tolerance=0.25) == []


def test_load_wobbling_inside_the_tolerance_moves_nothing():
    shards, costs = fleet({"a": 6, "b": 5})
    assert rebalance(shards, costs, CAPACITY, tolerance=0.25) == []


def test_moves_per_round_are_capped():
    shards, costs = fleet({"a": 10, "b": 0, "c": 0})
    assert len(rebalance(shards, costs, CAPACITY, tolerance=0.1, max_moves=3)) == 3


def test_shards_needed_leaves_headroom_for_failover():
    costs = {f"c{i}": 0.01 for i in range(100)}
    assert shards_needed(costs, CAPACITY) == 13  # 100 cameras / (10 × 0.8)
    assert shards_needed({}, CAPACITY) == 1


def test_ten_thousand_cameras_place_within_bounds():
    shards = {f"s{i}": Shard(f"s{i}", f"node-{i % 8}") for i in range(shards_needed(
        {f"c{i}": 0.004 for i in range(10_417)}, Capacity(120, 0.8)))}
    costs = {f"c{i}": 0.004 for i in range(10_417)}
    assert place(sorted(costs), shards, costs, Capacity(120, 0.8)) == []
    sizes = [len(s.cameras) for s in shards.values()]
    assert sum(sizes) == 10_417 and max(sizes) - min(sizes) <= 1
