"""Stats: the statistics of the reports, all from numpy and scipy (nothing hand-rolled).

Confidence intervals are percentile bootstraps (scipy.stats.bootstrap,
method="percentile") of the median: the samples are small and skewed (latencies,
failover times), and BCa degenerates when a sample has ties or a single value.
Resampling is seeded, so a report is reproducible.
"""

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 20140619  # any fixed seed: reports must not change between runs of `report`


def _median(x: Any, axis: int = -1) -> Any:
    return np.median(x, axis=axis)


def _ratio(a: Any, b: Any, axis: int = -1) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.median(b, axis=axis) / np.median(a, axis=axis)


def median_ci(x: Any, seed: int = SEED) -> tuple[float, float]:
    """median_ci: the 95% bootstrap CI of the median; NaN with fewer than 2 values."""
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return math.nan, math.nan
    if np.all(x == x[0]):
        return float(x[0]), float(x[0])
    res = sps.bootstrap((x,), _median, confidence_level=CONFIDENCE, n_resamples=RESAMPLES,
                        method="percentile", vectorized=True, rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    ci_low: float
    ci_high: float
    p10: float
    p90: float
    p99: float


def describe(values: Any) -> Summary:
    """describe: size, median with its CI, and percentiles of one sample."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        nan = math.nan
        return Summary(0, nan, nan, nan, nan, nan, nan)
    lo, hi = median_ci(x)
    p10, p90, p99 = (float(v) for v in np.percentile(x, [10, 90, 99]))
    return Summary(int(x.size), float(np.median(x)), lo, hi, p10, p90, p99)


@dataclass(frozen=True)
class Comparison:
    ratio: float  # median(new) / median(base)
    ci_low: float
    ci_high: float
    p_value: float  # two-sided Mann-Whitney U


def compare(base: Any, new: Any, seed: int = SEED) -> Comparison:
    """compare: the ratio of medians with a bootstrap CI, and a Mann-Whitney U test."""
    a = np.asarray(base, dtype=float)
    b = np.asarray(new, dtype=float)
    ratio = float(_ratio(a, b))
    if a.size < 2 or b.size < 2:
        return Comparison(ratio, math.nan, math.nan, math.nan)
    p = float(sps.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    with warnings.catch_warnings():  # degenerate resamples (all ties) are expected
        warnings.simplefilter("ignore")
        res = sps.bootstrap((a, b), _ratio, confidence_level=CONFIDENCE, n_resamples=RESAMPLES,
                            method="percentile", vectorized=True, paired=False,
                            rng=np.random.default_rng(seed))
    return Comparison(ratio, float(res.confidence_interval.low),
                      float(res.confidence_interval.high), p)


def p_greater(base: Any, new: Any) -> float:
    """p_greater: the one-sided Mann-Whitney U p value for "new tends to be larger than base".

    The regression gate's test (docs/benchmarking.md): lower is better in every
    probe, so only a shift upwards is evidence of a slowdown.
    """
    a = np.asarray(base, dtype=float)
    b = np.asarray(new, dtype=float)
    return float(sps.mannwhitneyu(b, a, alternative="greater").pvalue)


def adjust_p(ps: list[float]) -> list[float]:
    """adjust_p: Benjamini-Hochberg adjusted p values, in the order given.

    The gate tests several probes at once; each unadjusted at 0.01, five
    unchanged probes would raise a false alarm in about one run in twenty.
    Adjusted, the chance that any probe of an unchanged tree is flagged stays
    at alpha, while a change that moves several probes at once (a slower
    message path slows handling and the whole driver alike) is found more
    readily than with Bonferroni or Holm.
    """
    if len(ps) < 2:
        return [float(p) for p in ps]
    return [float(p) for p in sps.false_discovery_control(ps, method="bh")]


def smallest_p_greater(n: int) -> float:
    """smallest_p_greater: the lowest p value p_greater can give with n values a side.

    It is reached when every new value is above every base value. With too few
    values it stays above any usual alpha (1/6 at n=2), so no result could count.
    """
    return p_greater(np.arange(n), np.arange(n, 2 * n))
