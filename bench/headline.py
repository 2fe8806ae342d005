"""Headline: the few figures a reader needs first, each labelled by what bounds it.

The rule (docs/benchmarking.md): a real implementation's figure compares
runtimes only when the simulator, at zero processing cost under the same
settings, does at least BOUND_FACTOR times better: a higher throughput at the
same offered load, or a leader still held at BOUND_FACTOR times the N. Then the
runtime is the limit (`bound` = "runtime"). Otherwise the harness is (the
network model, the timeouts, the preset's cap) and no conclusion is drawn.
"""

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from bench import stats
from bench.analyze import largest_stable
from bench.impls import ALL_IMPLS, SIMULATORS
from bench.store import failure_reason, is_stable

BOUND_FACTOR = 4.0
P99_BOUND_MS = 50.0  # "sustained": p99 commit latency at most the heartbeat interval
COLUMNS = ["measure", "nodes", "impl", "median", "ci_low", "ci_high", "unit", "bound"]
Samples = dict[tuple[str, int | None, str], np.ndarray]


def _ideal(vals: pd.DataFrame) -> str | None:
    present = set(vals.impl)
    return next((s for s in ("go-sim", "py-sim") if s in present), None)


def _real(vals: pd.DataFrame) -> list[str]:
    present = set(vals.impl) - SIMULATORS
    return [i for i in ALL_IMPLS if i in present] + sorted(present - set(ALL_IMPLS))


def _cell(vals: pd.DataFrame, scenario: str, impl: str, nodes: int, metric: str,
          variant: str | None = None) -> np.ndarray:
    sel = vals[(vals.scenario == scenario) & (vals.impl == impl) & (vals.nodes == nodes)
               & (vals.metric == metric)]
    if variant is not None:
        sel = sel[sel.variant == variant]
    return sel.value.to_numpy(dtype=float)


def sustained_variant(vals: pd.DataFrame, impl: str, nodes: int,
                      bound_ms: float = P99_BOUND_MS) -> str | None:
    """sustained_variant: the offered load (client count) with the highest median
    throughput whose median p99 commit latency stays within bound_ms."""
    best, best_tput = None, -1.0
    cap = vals[(vals.scenario == "capacity") & (vals.impl == impl) & (vals.nodes == nodes)]
    for variant, g in cap.groupby("variant"):
        p99 = g[g.metric == "commit_p99_ms"].value
        tput = g[g.metric == "throughput_ops_s"].value
        if p99.empty or tput.empty or p99.median() > bound_ms:
            continue
        if tput.median() > best_tput:
            best, best_tput = str(variant), float(tput.median())
    return best


def _row(measure: str, nodes: int | None, impl: str, x: np.ndarray, unit: str,
         bound: str) -> dict[str, Any]:
    lo, hi = stats.median_ci(x)
    return {"measure": measure, "nodes": nodes, "impl": impl,
            "median": float(np.median(x)) if x.size else np.nan,
            "ci_low": lo, "ci_high": hi, "unit": unit, "bound": bound}


def _capacity(vals: pd.DataFrame, ideal: str | None, out: list[dict[str, Any]],
              samples: Samples) -> None:
    sizes = sorted(int(n) for n in vals[vals.scenario == "capacity"].nodes.unique())
    for n in sizes:
        for impl in _real(vals):
            variant = sustained_variant(vals, impl, n)
            if variant is None:
                continue
            tput = _cell(vals, "capacity", impl, n, "throughput_ops_s", variant)
            ideal_tput = (_cell(vals, "capacity", ideal, n, "throughput_ops_s", variant)
                          if ideal else np.array([]))
            runtime = ideal_tput.size > 0 and np.median(ideal_tput) >= (
                BOUND_FACTOR * np.median(tput))
            bound = "runtime" if runtime else "harness"
            cpu = _cell(vals, "capacity", impl, n, "cpu_us_per_cmd", variant)
            out.append(_row("max_sustained_throughput", n, impl, tput, "cmd/s", bound))
            out.append(_row("cpu_per_command", n, impl, cpu, "µs", bound))
            samples[("max_sustained_throughput", n, impl)] = tput
            samples[("cpu_per_command", n, impl)] = cpu


def _held_sizes(vals: pd.DataFrame, impl: str) -> pd.Series:
    sc = vals[(vals.scenario == "scale") & (vals.metric == "stable") & (vals.impl == impl)]
    return sc.groupby("nodes").value.min()


def _scale(vals: pd.DataFrame, ideal: str | None, out: list[dict[str, Any]]) -> None:
    best = largest_stable(vals)
    ideal_held = _held_sizes(vals, ideal) if ideal else pd.Series(dtype=float)
    for impl in _real(vals):
        if impl not in best:
            continue
        mine = _held_sizes(vals, impl)
        failed = bool((mine < 1).any())
        ideal_ok = ideal_held[ideal_held >= 1].index
        runtime = (failed and all(n in ideal_ok for n in mine.index)
                   and any(n >= BOUND_FACTOR * best[impl] for n in ideal_ok))
        out.append({"measure": "largest_stable_n", "nodes": None, "impl": impl,
                    "median": float(best[impl]), "ci_low": np.nan, "ci_high": np.nan,
                    "unit": "nodes", "bound": "runtime" if runtime else "harness"})


def rss_fit(vals: pd.DataFrame, impl: str) -> tuple[Any, int] | None:
    """rss_fit: the linear fit of peak RSS (KiB) against N over the scale trials
    that held their leader, so that only nodes, not a growing log, are in it."""
    sc = vals[(vals.scenario == "scale") & (vals.impl == impl)]
    wide = sc.pivot_table(index=["nodes", "trial"], columns="metric", values="value")
    if "stable" not in wide or "rss_peak_kb" not in wide:
        return None
    held = wide[wide.stable >= 1].reset_index()
    if held.nodes.nunique() < 3:
        return None
    fit = sps.linregress(held.nodes.astype(float), held.rss_peak_kb.astype(float))
    return fit, len(held)


def _rss(vals: pd.DataFrame, out: list[dict[str, Any]]) -> None:
    for impl in _real(vals):
        found = rss_fit(vals, impl)
        if found is None:
            continue
        fit, points = found
        dof = max(1, points - 2)
        half = float(sps.t.ppf(0.975, dof) * fit.stderr)
        out.append({"measure": "rss_per_node", "nodes": None, "impl": impl,
                    "median": float(fit.slope), "ci_low": float(fit.slope) - half,
                    "ci_high": float(fit.slope) + half, "unit": "KiB",
                    "bound": "runtime"})


def _failover(vals: pd.DataFrame, ideal: str | None, out: list[dict[str, Any]],
              samples: Samples) -> None:
    fo = vals[(vals.scenario == "failover") & (vals.metric == "failover_ms")]
    if ideal is None or fo.empty:
        return
    variant = "150-300" if "150-300" in set(fo.variant) else str(fo.variant.iloc[0])
    sizes = sorted(int(n) for n in fo[fo.variant == variant].nodes.unique())
    n = 5 if 5 in sizes else sizes[0]
    base = _cell(vals, "failover", ideal, n, "failover_ms", variant)
    for impl in _real(vals):
        x = _cell(vals, "failover", impl, n, "failover_ms", variant)
        if x.size == 0 or base.size == 0:
            continue
        c = stats.compare(base, x)
        runtime = np.median(base) * BOUND_FACTOR <= np.median(x)
        out.append({"measure": "failover_vs_ideal", "nodes": n, "impl": impl,
                    "median": c.ratio, "ci_low": c.ci_low, "ci_high": c.ci_high,
                    "unit": "ratio", "bound": "runtime" if runtime else "harness"})
        samples[("failover_vs_ideal", n, impl)] = x


def headline(vals: pd.DataFrame) -> tuple[pd.DataFrame, Samples]:
    """headline: the verdict's figures (COLUMNS) and the samples behind each median."""
    rows: list[dict[str, Any]] = []
    samples: Samples = {}
    ideal = _ideal(vals)
    _capacity(vals, ideal, rows, samples)
    _scale(vals, ideal, rows)
    _rss(vals, rows)
    _failover(vals, ideal, rows, samples)
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.astype({"nodes": "Int64"}), samples


def scale_search(records: list[dict[str, Any]]) -> pd.DataFrame:
    """scale_search: every N each implementation tried, whether it held, and why not."""
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for rec in records:
        k = rec["key"]
        if rec["warmup"] or k["scenario"] != "scale":
            continue
        row = rows.setdefault((k["impl"], k["n"]), {"impl": k["impl"], "nodes": k["n"],
                                                    "held": True, "reason": ""})
        if row["held"] and not is_stable(rec):
            row["held"], row["reason"] = False, failure_reason(rec)
    order = {impl: i for i, impl in enumerate(ALL_IMPLS)}
    ordered = sorted(rows.values(), key=lambda r: (order.get(r["impl"], 99), r["nodes"]))
    return pd.DataFrame(ordered, columns=["impl", "nodes", "held", "reason"])
