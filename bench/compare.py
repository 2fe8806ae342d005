"""Compare: two runs cell by cell, as benchstat compares two sets of benchmarks.

A *cell* is one implementation x scenario x variant x N x metric. Every cell of
either run is reported, none hidden:

* Measured in both runs: each side's median with its 95% bootstrap CI
  (`stats.describe`), the ratio of medians new/base with its bootstrap CI and a
  two-sided Mann-Whitney U test (`stats.compare`).
* Too few trials: a two-sided Mann-Whitney U test of n1 and n2 values cannot
  give a p below 2 / C(n1 + n2, n1) (0.33 with 2 a side, 0.029 with 4), so a
  cell whose sizes cannot reach alpha is not tested; it is said so, not called
  "unchanged".
* The tested cells' p values are adjusted for multiple comparisons by
  Benjamini-Hochberg (`scipy.stats.false_discovery_control`); a change is
  significant when its adjusted p is below alpha.
* Failed or missing on one side: a change; a regression when NEW failed or lost
  a cell that BASE measured (NEW's settings planned it), or failed more of a
  cell's trials (for the scale search: did not hold its leader).
* Per implementation, the geometric mean (`scipy.stats.gmean`) of the ratios
  new/base of the cells both runs measured, throughput-like metrics inverted so
  that above 1 is worse everywhere.

A regression is a significant change for the worse beyond the threshold, or a
failure or loss in NEW. Runs from different machines (`envinfo.machine_differences`)
or made with different settings (run.json) are refused unless forced; the
implementations, scenarios, sizes and trial counts may differ (only the cells both
have are tested, the others are listed).
"""

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import typer
from scipy import stats as sps

from bench import analyze, envinfo, plan, stats, store
from bench.impls import ALL_IMPLS
from bench.runs import plain_table
from bench.units import fmt, number

ALPHA = 0.05
SKIP = {"ok", "stable"}  # 0/1 per trial: compared as failure counts, not medians
METHOD = "Benjamini-Hochberg"

# Settings that decide only which cells a run has and how many trials each: runs
# that differ in them still compare, cell by cell.
PLAN_FIELDS = frozenset({"impls", "scenarios", "sizes", "capacity_sizes", "capacity_clients",
                         "failover_ranges", "trials", "trials_scale", "scale_start",
                         "scale_max", "scale_bisect"})

GROUP = ["impl", "scenario", "variant", "nodes"]
CELL = [*GROUP, "metric"]

# Cell statuses. Both runs measured it:
TESTED, TOO_FEW = "tested", "too few trials"
# One run has no value (a regression when it is NEW and BASE had the cell):
FAILED_NEW, NO_VALUE_NEW, MISSING_NEW = "failed in new", "no value in new", "missing in new"
FAILED_BASE, NO_VALUE_BASE, ONLY_NEW = "failed in base", "no value in base", "only in new"
NOT_RUN_NEW, NOT_TRIED_NEW = "not in new run", "not tried in new"
# Failure counts of a cell's trials (metric "failures"):
MORE_FAILURES, FEWER_FAILURES = "more failures in new", "fewer failures in new"
SAME_FAILURES = "as many failures"

LOST = {FAILED_NEW, NO_VALUE_NEW, MISSING_NEW, MORE_FAILURES}
FIXED = {FAILED_BASE, FEWER_FAILURES}

COLUMNS = [*CELL, "unit", "status", "verdict", "n_base", "n_new",
           "median_base", "ci_low_base", "ci_high_base", "median_new", "ci_low_new",
           "ci_high_new", "ratio", "ratio_ci_low", "ratio_ci_high", "p_value", "p_adjusted",
           "min_p", "significant", "worse", "regression", "trials_base", "failures_base",
           "trials_new", "failures_new"]


class Mismatch(Exception):
    """Mismatch: the runs come from different machines or settings; one line."""


@dataclass
class Side:
    """Side: one run's values, trial counts per cell group, and settings."""
    path: Path
    meta: dict[str, Any]
    env: dict[str, Any]
    vals: pd.DataFrame  # analyze.values without the SKIP metrics
    trials: dict[tuple[Any, ...], tuple[int, int]]  # group -> (trials, failures)
    all_failed: dict[tuple[Any, ...], bool]  # group -> every trial failed (not ok)
    measured: int


@dataclass
class Result:
    base: Side
    new: Side
    alpha: float
    threshold: float
    cells: pd.DataFrame  # one row per cell, COLUMNS
    geomean: pd.DataFrame  # impl, geomean, cells
    dead: dict[str, int] = field(default_factory=dict)  # impl -> trials, all failed in NEW
    machine_differences: list[str] = field(default_factory=list)
    settings_differences: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> int:
        """regressions: the regression cells, and each implementation every trial of
        which failed in NEW that has none (it failed in BASE too, or is new)."""
        c = self.cells
        n = int(c.regression.sum()) if len(c) else 0
        hit = set(c.impl[c.regression]) if len(c) else set()
        return n + sum(impl not in hit for impl in self.dead)


def min_p(n1: int, n2: int) -> float:
    """min_p: the smallest p an exact two-sided Mann-Whitney U test of samples of n1 and
    n2 values can give (the samples wholly apart): 2 / C(n1 + n2, n1), at most 1."""
    if n1 < 1 or n2 < 1:
        return 1.0
    return min(1.0, 2 / math.comb(n1 + n2, n1))


# Loading and the refusals.


def _side(path: Path, warn: Callable[[str], None] | None) -> Side:
    """_side reads one run; StoreError when it cannot be read or has no measured trial."""
    store.check_run_dir(path)
    records = store.load_records(path, warn)
    store.check_measured(path, records)
    meta = store.load_meta(path)
    vals = analyze.values(records)
    ok = vals[vals.metric == "ok"].groupby(GROUP).value
    stable = vals[vals.metric == "stable"].groupby(GROUP).value
    trials: dict[tuple[Any, ...], tuple[int, int]] = {}
    all_failed: dict[tuple[Any, ...], bool] = {}
    for key, v in ok:
        held = stable.get_group(key) if key[1] == "scale" and key in stable.groups else v
        trials[key] = (len(v), int((held < 1).sum()))
        all_failed[key] = bool((v < 1).all())
    return Side(path, meta, store.load_env(path), vals[~vals.metric.isin(SKIP)], trials,
                all_failed, sum(not r["warmup"] for r in records))


def _show(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, int | float | str):
        return str(v)
    return json.dumps(v, separators=(",", ":"))


def settings_differences(base: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """settings_differences: "field: base vs new" for each setting both run.json configs
    hold and that changes what a cell measures (not PLAN_FIELDS). A field one of them
    lacks (made by an older raftbench, which used the default) is not compared."""
    a, b = base.get("config") or {}, new.get("config") or {}
    out = []
    for k in a:
        if k in b and k not in PLAN_FIELDS and a[k] != b[k]:  # 1000 == 1000.0
            out.append(f"{k}: {_show(a[k])} vs {_show(b[k])}")
    return out


def _machines(base: Side, new: Side) -> list[str]:
    for s in (base, new):
        if not s.env:
            return [f"{s.path} has no {store.ENV}"]
    return envinfo.machine_differences(base.env, new.env)


def _refuse_or_warn(what: str, diffs: list[str], force: bool,
                    warn: Callable[[str], None] | None) -> None:
    if not diffs:
        return
    if not force:
        raise Mismatch(f"different {what}: {'; '.join(diffs)} (use --force to compare anyway)")
    for d in diffs:
        if warn is not None:
            warn(f"warning: different {what} (--force): {d}")


# The cells.


def _planned(path: Path) -> set[tuple[Any, ...]]:
    """_planned: the cell groups NEW's settings ran (the scale search's N excepted)."""
    cfg = store.load_config(path)
    return {(t.key.impl, t.key.scenario, t.key.variant, t.key.n) for t in plan.fixed_trials(cfg)}


def _summary(x: Any, side: str) -> dict[str, Any]:
    s = stats.describe(x)
    return {f"n_{side}": s.n, f"median_{side}": s.median, f"ci_low_{side}": s.ci_low,
            f"ci_high_{side}": s.ci_high}


def _one_sided(key: tuple[Any, ...], base: Side, new: Side, planned: set[tuple[Any, ...]],
               in_base: bool) -> str:
    group = key[:4]
    if in_base:
        if group not in new.trials:
            if key[1] == "scale":
                return NOT_TRIED_NEW
            return MISSING_NEW if group in planned else NOT_RUN_NEW
        return FAILED_NEW if new.all_failed.get(group) else NO_VALUE_NEW
    if group not in base.trials:
        return ONLY_NEW
    return FAILED_BASE if base.all_failed.get(group) else NO_VALUE_BASE


def _cells(base: Side, new: Side, planned: set[tuple[Any, ...]]) -> list[dict[str, Any]]:
    a = {k: g.value.to_numpy() for k, g in base.vals.groupby(CELL)}
    b = {k: g.value.to_numpy() for k, g in new.vals.groupby(CELL)}
    rows = []
    for key in sorted(a.keys() | b.keys(), key=_order):
        row: dict[str, Any] = dict(zip(CELL, key, strict=True))
        row["unit"] = analyze.UNITS.get(str(key[-1]), "")
        x, y = a.get(key), b.get(key)
        row |= _summary(x if x is not None else [], "base") | _summary(
            y if y is not None else [], "new")
        if x is not None and y is not None:
            c = stats.compare(x, y)
            row |= {"ratio": c.ratio, "ratio_ci_low": c.ci_low, "ratio_ci_high": c.ci_high,
                    "p_value": c.p_value, "min_p": min_p(len(x), len(y))}
        else:
            row["status"] = _one_sided(key, base, new, planned, in_base=x is not None)
        rows.append(row)
    for group in base.trials.keys() | new.trials.keys():  # failed trials, where any
        (tb, fb), (tn, fn) = base.trials.get(group, (0, 0)), new.trials.get(group, (0, 0))
        if not fb and not fn:
            continue
        if tb and tn:
            status = (MORE_FAILURES if fn / tn > fb / tb else FEWER_FAILURES
                      if fn / tn < fb / tb else SAME_FAILURES)
        else:
            status = _one_sided((*group, "failures"), base, new, planned, in_base=bool(tb))
        rows.append({**dict(zip(GROUP, group, strict=True)), "metric": "failures",
                     "unit": "trials", "status": status})
    for row in rows:
        group = tuple(row[k] for k in GROUP)
        for side, s in (("base", base), ("new", new)):
            t, f = s.trials.get(group, (0, 0))
            row[f"trials_{side}"], row[f"failures_{side}"] = t, f
    # A group's failure count first, then its metrics.
    return sorted(rows, key=lambda r: (*_order(tuple(r[k] for k in GROUP)),
                                       r["metric"] != "failures", r["metric"]))


def _order(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """_order: implementations in their usual order, then scenario, variant, N (as a
    number) and metric."""
    impl = ALL_IMPLS.index(key[0]) if key[0] in ALL_IMPLS else len(ALL_IMPLS)
    rest = [int(k) if i == 3 else str(k) for i, k in enumerate(key) if i > 0]
    return (impl, str(key[0]), *rest)


def judge(table: pd.DataFrame, alpha: float, threshold: float) -> pd.DataFrame:
    """judge adds status (for the cells both runs measured), p_adjusted, significant,
    worse, regression and verdict to the cells."""
    t = table.reindex(columns=COLUMNS).copy()
    testable = (t.min_p.astype(float) < alpha) & t.p_value.notna()
    t["status"] = [s if isinstance(s, str) else TESTED if ok else TOO_FEW
                   for s, ok in zip(t.status, testable, strict=True)]
    tested = t.status == TESTED
    if tested.any():
        t.loc[tested, "p_adjusted"] = sps.false_discovery_control(
            t.p_value[tested].to_numpy(dtype=float), method="bh")
    higher = t.metric.isin(analyze.HIGHER_IS_BETTER)
    ratio = t.ratio.astype(float)
    sig = tested & (t.p_adjusted.astype(float) < alpha)
    worse = (higher & (ratio < 1)) | (~higher & (ratio > 1))
    beyond = (higher & (ratio < 1 - threshold)) | (~higher & (ratio > 1 + threshold))
    t["significant"] = sig
    # The scale search ends on a failure by design, one trial per N, and its last
    # N moves by a bisection step from run to run: a failure there is not lost work.
    lost = t.status.isin(LOST) & (t.scenario != "scale")
    t["worse"] = (sig & worse) | lost
    t["regression"] = (sig & worse & beyond) | lost
    t["verdict"] = [_verdict(r) for r in t.itertuples()]
    return t


def _verdict(r: Any) -> str:
    if r.regression:
        return "regression"
    if r.status in FIXED or (r.significant and not r.worse):
        return "better"
    if r.significant:
        return "worse"
    if r.status in (TESTED, SAME_FAILURES):
        return "same"
    if r.status == TOO_FEW:
        return "too few trials"
    return "change"


def geomeans(cells: pd.DataFrame) -> pd.DataFrame:
    """geomeans: per implementation, the geometric mean of new/base over the cells both
    runs measured with medians above 0; higher-is-better metrics inverted (> 1: worse)."""
    both = cells[cells.status.isin([TESTED, TOO_FEW])]
    rows = []
    for impl, g in both.groupby("impl", sort=False):
        r = g.ratio.astype(float).to_numpy()
        higher = g.metric.isin(analyze.HIGHER_IS_BETTER).to_numpy()
        with np.errstate(divide="ignore"):  # a ratio of 0 is left out just below
            r = np.where(higher, 1 / r, r)
        r = r[np.isfinite(r) & (r > 0)]
        if len(r):
            rows.append({"impl": impl, "geomean": float(sps.gmean(r)), "cells": len(r)})
    return pd.DataFrame(rows, columns=["impl", "geomean", "cells"])


def compare_runs(base: Path, new: Path, force: bool = False, alpha: float = ALPHA,
                 threshold: float = 0.1,
                 warn: Callable[[str], None] | None = None) -> Result:
    """compare_runs: every cell of either run, judged. Raises StoreError for a run that
    cannot be read or has no measured trials, Mismatch for different machines or
    settings unless force (then warn hears each difference)."""
    a, b = _side(base, warn), _side(new, warn)
    machines = _machines(a, b)
    _refuse_or_warn("machines", machines, force, warn)
    settings = settings_differences(a.meta, b.meta)
    _refuse_or_warn("settings", settings, force, warn)
    cells = judge(pd.DataFrame(_cells(a, b, _planned(new))), alpha, threshold)
    dead = {}
    for impl in sorted({g[0] for g in b.trials}, key=lambda i: _order((i, "", "", 0))):
        mine = [g for g in b.trials if g[0] == impl]
        if all(b.all_failed[g] for g in mine):
            dead[impl] = sum(b.trials[g][0] for g in mine)
    return Result(a, b, alpha, threshold, cells, geomeans(cells), dead, machines, settings)


# Output.


def _side_text(r: Any, side: str) -> str:
    n, med = getattr(r, f"n_{side}"), getattr(r, f"median_{side}")
    trials, failures = getattr(r, f"trials_{side}"), getattr(r, f"failures_{side}")
    if r.metric == "failures":
        return f"{failures}/{trials} failed" if trials else "not run"
    if not n or pd.isna(n):
        if not trials:
            return "not run"
        return f"failed ({failures}/{trials})" if failures == trials else "no value"
    text = fmt(med, r.unit, 4)
    lo, hi = getattr(r, f"ci_low_{side}"), getattr(r, f"ci_high_{side}")
    if pd.isna(lo) or pd.isna(hi):
        return text
    spread = max(med - lo, hi - med)
    if med == 0 or spread == 0:
        return f"{text} ±{fmt(spread, r.unit)}" if spread else f"{text} ±0%"
    return f"{text} ±{number(100 * spread / abs(med), 2)}%"


def _p(p: float) -> str:
    return number(p, 2) if p >= 1e-4 else "<0.0001"


def _vs_text(r: Any) -> str:
    if r.status not in (TESTED, TOO_FEW):
        return str(r.status)
    sizes = f"n={int(r.n_base)}+{int(r.n_new)}"
    if r.status == TOO_FEW:
        return f"too few trials ({sizes})"
    if not r.significant:
        return f"~ (p={_p(r.p_adjusted)}, {sizes})"
    delta = (r.ratio - 1) * 100
    change = (("+" if delta > 0 else "") + number(delta, 3) + "%") if math.isfinite(
        r.ratio) else f"ratio {r.ratio}"
    return f"{change} (p={_p(r.p_adjusted)}, {sizes})"


VERDICT_TEXT = {"regression": "REGRESSION", "worse": "worse", "better": "better"}


def _too_few_line(res: Result) -> str | None:
    few = res.cells[res.cells.status == TOO_FEW]
    if few.empty:
        return None
    both = int(res.cells.status.isin([TESTED, TOO_FEW]).sum())
    (n1, n2), _ = Counter(zip(few.n_base.astype(int), few.n_new.astype(int),
                                  strict=True)).most_common(1)[0]
    return (f"too few trials: {len(few)} of {both} cells measured in both runs cannot reach "
            f"p < {number(res.alpha)} (with n={n1}+{n2} the smallest two-sided Mann-Whitney "
            f"p is {number(min_p(n1, n2), 2)}); they are marked \"too few trials\"; "
            "run more trials (quick runs, 2 trials a cell, cannot show a change: compare "
            "standard runs, 5 a cell)")


def render_text(res: Result, color: bool = False) -> str:
    """render_text: plain text, every cell on one line, nothing cut short."""
    c, lines = res.cells, []
    tested = int((c.status == TESTED).sum())
    lines.append(f"compare: base {res.base.path} ({res.base.measured} measured trials) vs "
                 f"new {res.new.path} ({res.new.measured} measured trials)")
    if (few := _too_few_line(res)) is not None:
        lines.append(few)
    if not c.status.isin([TESTED, TOO_FEW]).any():
        lines.append("nothing to test: no cell was measured in both runs")
    lines.append(
        f"method: median ±95% bootstrap CI per run; two-sided Mann-Whitney U per cell, p "
        f"adjusted for {tested} tests by {METHOD} (false discovery rate); significant: "
        f"adjusted p < {number(res.alpha)}; regression: significant and worse by more than "
        f"{res.threshold:.0%}, or failed or missing in new")
    lines.append("")
    header = ["impl", "scenario", "variant", "N", "metric", "base", "new", "vs base",
              "verdict"]
    rows = [[str(r.impl), str(r.scenario), str(r.variant), str(int(r.nodes)), str(r.metric),
             _side_text(r, "base"), _side_text(r, "new"), _vs_text(r),
             VERDICT_TEXT.get(r.verdict, "")] for r in _rows(c)]
    lines += plain_table(header, rows)
    lines.append("")
    if len(res.geomean):
        lines.append("geometric mean of new/base per implementation, over the cells both runs "
                     "measured (throughput-like metrics inverted: above 1 is worse):")
        lines += ["  " + ln for ln in plain_table(
            ["impl", "geomean", "cells"],
            [[str(g.impl), f"{number(g.geomean, 4)}×", str(g.cells)]
             for g in _rows(res.geomean)])]
        lines.append("")
    for impl, n in res.dead.items():
        lines.append(f"{impl}: every trial failed in new ({n} of {n}): REGRESSION")
    lost = int((c.status.isin(LOST) & (c.scenario != "scale")).sum())
    lines.append(f"{len(c)} cells: {tested} tested, {int((c.status == TOO_FEW).sum())} too few "
                 f"trials, {int(c.significant.sum())} significant "
                 f"({int((c.verdict == 'better').sum())} better), {lost} failed or missing "
                 f"in new; {res.regressions} regression(s)")
    text = "\n".join(lines)
    if color:
        text = text.replace("REGRESSION", typer.style("REGRESSION", fg="red", bold=True))
    return text


def _rows(frame: pd.DataFrame) -> Iterable[Any]:
    """_rows: a frame's rows as named tuples, their fields untyped (pandas-stubs
    types each one as any scalar at all)."""
    return cast(Iterable[Any], frame.itertuples())


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is pd.NA or v is None:
        return None
    return v


def records(res: Result) -> list[dict[str, Any]]:
    """records: every cell as a plain dict (NaN as None)."""
    return [{str(k): _plain(v) for k, v in row.items()}
            for row in res.cells.astype(object).to_dict("records")]


def to_json(res: Result) -> str:
    doc = {
        "base": str(res.base.path), "new": str(res.new.path), "alpha": res.alpha,
        "threshold": res.threshold, "test": "two-sided Mann-Whitney U",
        "adjustment": METHOD, "regressions": res.regressions,
        "cells_tested": int((res.cells.status == TESTED).sum()),
        "cells_too_few_trials": int((res.cells.status == TOO_FEW).sum()),
        "machine_differences": res.machine_differences,
        "settings_differences": res.settings_differences,
        "all_failed_in_new": res.dead,
        "geomean": [{k: _plain(v) for k, v in g.items()}
                    for g in res.geomean.astype(object).to_dict("records")],
        "cells": records(res),
    }
    return json.dumps(doc, indent=2)


def to_csv(res: Result) -> str:
    return str(res.cells.to_csv(index=False))
