"""The control-plane simulation at small scale, against the real supervisor and real shards on real Ray."""

from __future__ import annotations

import pytest

from loadtest import fleet_sim

pytestmark = pytest.mark.timeout(240)


def test_fleet_is_placed_rehomed_after_a_shard_dies_and_nothing_is_lost(ray_cluster):
    result = fleet_sim.simulate(300, 6, kill_fraction=1 / 6, add_shards=2, settle_s=1.0, timeout_s=90)

    assert result["placement"]["unplaced"] == 0
    assert result["start"]["all_online"], result["start"]["states"]
    assert result["shards"] >= 6
    assert result["failover"]["killed"] == 1 and result["failover"]["cameras"] > 0
    assert result["failover"]["rehomed_s"] < 90
    assert result["lost"] == {"not_online": 0, "unassigned": 0, "not_online_after_rebalance": 0}
    assert result["failover"]["spurious"] == 0
    assert result["rebalance"]["moved"] > 0  # new empty shards take cameras
    assert result["supervisor"]["memory"]["rss_mib"] > 0 and result["metrics"]["series"] > 0
    print(fleet_sim.table(result))
