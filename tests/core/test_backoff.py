import random

import pytest

from matakota.core.backoff import Backoff


@pytest.mark.timeout(5)
@pytest.mark.parametrize("attempt, ceiling", [(0, 0.5), (1, 1.0), (3, 4.0), (6, 30.0), (500, 30.0)])
def test_ceiling_doubles_then_caps(attempt, ceiling):
    b = Backoff(base_s=0.5, cap_s=30.0, rng=random.Random(1))
    b.attempt = attempt
    assert b.ceiling() == ceiling


@pytest.mark.timeout(5)
def test_full_jitter_spreads_cameras_and_reset_starts_over():
    b = Backoff(base_s=1.0, cap_s=8.0, rng=random.Random(42))
    delays = [b.next_delay() for _ in range(50)]
    assert all(0 <= d <= 8.0 for d in delays)
    assert len({round(d, 6) for d in delays}) == 50  # never lockstep
    assert max(delays[10:]) > 4.0  # capped, not stuck low
    b.reset()
    assert b.next_delay() <= 1.0


@pytest.mark.timeout(5)
def test_same_seed_same_schedule():
    a, b = Backoff(rng=random.Random(7)), Backoff(rng=random.Random(7))
    assert [a.next_delay() for _ in range(5)] == [b.next_delay() for _ in range(5)]


@pytest.mark.timeout(5)
@pytest.mark.parametrize("base, cap", [(0, 1), (2, 1), (-1, 5)])
def test_bad_bounds_raise(base, cap):
    with pytest.raises(ValueError):
        Backoff(base_s=base, cap_s=cap)
