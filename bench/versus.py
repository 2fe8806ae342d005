"""Versus: every cell of a run against go, as a ratio with its CI and p value (the
anchors' cells too, after ours).

A cell is one scenario x variant x N x metric. For each implementation other than
go: median(impl) / median(go), its 95% bootstrap CI (claimed only from
MIN_CI_TRIALS trials a side, as everywhere in the report), and the two-sided
Mann-Whitney U p value, adjusted by Benjamini-Hochberg over the whole table so
that a page of hundreds of cells does not show false changes by chance.
"""

import math
from typing import SupportsInt, cast

import pandas as pd
from scipy import stats as sps

from bench import stats
from bench.impls import ALL_IMPLS, ANCHORS
from bench.verdict import BASE, MIN_CI_TRIALS

METRICS = ["throughput_ops_s", "commit_p99_ms", "cpu_us_per_cmd", "first_leader_ms",
           "failover_ms"]
COLUMNS = ["scenario", "variant", "nodes", "metric", "impl", "ratio", "ci_low", "ci_high",
           "p_bh", "n_impl", "n_go"]


def versus_go(vals: pd.DataFrame) -> pd.DataFrame:
    """versus_go: one row per cell and implementation; empty without go in the run."""
    sel = vals[vals.metric.isin(METRICS) & (vals.scenario != "scale")]
    rows = []
    for (scenario, variant, nodes, metric), cell in sel.groupby(
            ["scenario", "variant", "nodes", "metric"], sort=True):
        base = cell[cell.impl == BASE].value.to_numpy(dtype=float)
        if base.size == 0:
            continue
        for impl in [i for i in (*ALL_IMPLS, *ANCHORS) if i != BASE and i in set(cell.impl)]:
            x = cell[cell.impl == impl].value.to_numpy(dtype=float)
            c = stats.compare(base, x)
            ci = min(x.size, base.size) >= MIN_CI_TRIALS
            rows.append({"scenario": scenario, "variant": variant,
                         "nodes": int(cast(SupportsInt, nodes)),  # a groupby key
                         "metric": metric, "impl": impl, "ratio": c.ratio,
                         "ci_low": c.ci_low if ci else math.nan,
                         "ci_high": c.ci_high if ci else math.nan, "p_bh": c.p_value,
                         "n_impl": x.size, "n_go": base.size})
    df = pd.DataFrame(rows, columns=COLUMNS)
    tested = df.p_bh.notna()
    if tested.any():
        df.loc[tested, "p_bh"] = sps.false_discovery_control(df.loc[tested, "p_bh"])
    return df
