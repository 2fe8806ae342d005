"""bench.stats against known distributions; every random draw is seeded and printed."""

import math

import numpy as np
import pytest

from bench import stats

SEEDS = [1, 2, 3]


@pytest.mark.parametrize("seed", SEEDS)
def test_median_ci_covers_the_true_median_of_a_normal_sample(seed: int) -> None:
    x = np.random.default_rng(seed).normal(loc=10.0, scale=2.0, size=200)
    lo, hi = stats.median_ci(x)
    assert lo < 10.0 < hi, f"seed={seed}: CI [{lo}, {hi}] misses 10"
    assert hi - lo < 2.0, f"seed={seed}: CI [{lo}, {hi}] is implausibly wide"


def test_describe_small_samples() -> None:
    assert stats.describe([]).n == 0
    one = stats.describe([3.0])
    assert one.n == 1 and one.median == 3.0 and math.isnan(one.ci_low)
    same = stats.describe([2.0, 2.0, 2.0])
    assert (same.ci_low, same.median, same.ci_high) == (2.0, 2.0, 2.0)


def test_describe_percentiles() -> None:
    s = stats.describe(np.arange(1, 101, dtype=float))
    assert s.n == 100 and s.median == 50.5
    assert s.p10 < s.median < s.p90 < s.p99 <= 100


@pytest.mark.parametrize("seed", SEEDS)
def test_mann_whitney_detects_a_shifted_sample(seed: int) -> None:
    rng = np.random.default_rng(seed)
    base, new = rng.normal(10, 1, 60), rng.normal(11, 1, 60)
    c = stats.compare(base, new)
    assert c.p_value < 0.01, f"seed={seed}: p={c.p_value}"
    assert 1.0 < c.ci_low <= c.ratio <= c.ci_high, f"seed={seed}: {c}"


@pytest.mark.parametrize("seed", SEEDS)
def test_identical_samples_are_not_different(seed: int) -> None:
    x = np.random.default_rng(seed).lognormal(3, 0.5, 40)
    c = stats.compare(x, x.copy())
    assert c.ratio == 1.0 and c.p_value > 0.9, f"seed={seed}: {c}"
    assert c.ci_low <= 1.0 <= c.ci_high, f"seed={seed}: {c}"


def test_compare_needs_two_values_per_side() -> None:
    c = stats.compare([1.0], [2.0, 3.0])
    assert c.ratio == 2.5 and math.isnan(c.p_value)
