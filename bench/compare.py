"""Compare: two runs, metric by metric, implementation by implementation.

For each cell (implementation, scenario, variant, N, metric) present in both runs:
the ratio of medians new/base with a 95% bootstrap CI, and a two-sided
Mann-Whitney U test. A change is significant when p < ALPHA and the CI excludes 1;
a regression is a significant change for the worse beyond the threshold.
"""

from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Column, Table

from bench import analyze, envinfo, stats, store

ALPHA = 0.05
SKIP = {"ok", "stable"}  # 0/1 per trial: shown by failures, not by ratios of medians


class MachineMismatch(Exception):
    """MachineMismatch: the runs' env.json name different machines."""


def _values(path: Path) -> pd.DataFrame:
    vals = analyze.values(store.load_records(path))
    return vals[~vals.metric.isin(SKIP)]


def _machine_check(base: Path, new: Path) -> None:
    a, b = store.load_env(base), store.load_env(new)
    if not envinfo.same_machine(a, b):
        def name(e: dict[str, Any]) -> str:
            m = e.get("machine") or {}
            return f"{m.get('hostname', '?')} ({m.get('cpu_model', '?')})"
        raise MachineMismatch(f"runs come from different machines: {name(a)} vs {name(b)}; "
                              "use --force to compare anyway")


def compare_runs(base: Path, new: Path, force: bool = False) -> pd.DataFrame:
    """compare_runs: one row per cell present in both runs."""
    for p in (base, new):
        store.check_run_dir(p)
    if not force:
        _machine_check(base, new)
    a, b = _values(base), _values(new)
    keys = [*analyze.KEYS, "metric"]
    new_groups = dict(tuple(b.groupby(keys)))
    rows = []
    for key, g in a.groupby(keys):
        h = new_groups.get(key)
        if h is None:
            continue
        c = stats.compare(g.value.to_numpy(), h.value.to_numpy())
        rows.append({**dict(zip(keys, key, strict=True)), "n_base": len(g), "n_new": len(h),
                     "median_base": g.value.median(), "median_new": h.value.median(),
                     **c.__dict__})
    return pd.DataFrame(rows)


def flag(table: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """flag adds `significant`, `worse` and `regression` columns."""
    if table.empty:
        return table.assign(significant=[], worse=[], regression=[])
    higher = table.metric.isin(analyze.HIGHER_IS_BETTER)
    sig = (table.p_value < ALPHA) & ((table.ci_low > 1) | (table.ci_high < 1))
    worse = (higher & (table.ratio < 1)) | (~higher & (table.ratio > 1))
    beyond = (higher & (table.ratio < 1 - threshold)) | (~higher & (table.ratio > 1 + threshold))
    return table.assign(significant=sig, worse=worse, regression=sig & worse & beyond)


def render(table: pd.DataFrame, threshold: float, console: Console) -> int:
    """render prints the significant changes; returns the number of regressions."""
    t = flag(table, threshold)
    shown = t[t.significant]
    out = Table("impl", "scenario", "variant", "N", Column("metric", no_wrap=True), "base", "new",
                "ratio [95% CI]", "p", Column("verdict", no_wrap=True),
                title="Significant changes (new / base)")
    for r in shown.itertuples():
        verdict = "[red]REGRESSION[/red]" if r.regression else ("worse" if r.worse else
                                                                "[green]better[/green]")
        out.add_row(str(r.impl), str(r.scenario), str(r.variant), str(r.nodes), str(r.metric),
                    f"{r.median_base:.4g}", f"{r.median_new:.4g}",
                    f"{r.ratio:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]", f"{r.p_value:.2g}",
                    verdict)
    if len(shown):
        console.print(out)
    n_reg = int(t.regression.sum()) if len(t) else 0
    console.print(f"{len(t)} cells compared, {len(shown)} significant, "
                  f"{n_reg} regression(s) beyond {threshold:.0%}")
    return n_reg
