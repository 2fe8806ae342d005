"""Analyze: raw trial records to tidy tables (one value per row), then summaries.

`values()` has one row per (trial, metric, value): implementation, scenario,
variant, nodes (cluster size N), trial, metric, value. Failover values are pooled
across trials (every failover_ms of every driver run is one row). Failed trials
give no values but count in `failures` (and give stable=0 in the scale scenario),
except the failovers a failover trial completed before it ran out of time.
"""

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from bench import stats
from bench.store import is_stable

KEYS = ["impl", "scenario", "variant", "nodes"]

UNITS = {
    "ok": "fraction", "first_leader_ms": "ms", "failover_ms": "ms",
    "term_changes_after_leader": "count", "elections": "count", "stable": "fraction",
    "throughput_ops_s": "ops/s", "commit_p50_ms": "ms", "commit_p99_ms": "ms",
    "committed": "commands", "cpu_us_per_cmd": "µs", "wall_s": "s", "cpu_s": "s",
    "cpu_user_s": "s", "cpu_sys_s": "s", "rss_peak_kb": "KiB", "rss_per_node_kb": "KiB",
    "threads_peak": "threads", "tasks_peak": "tasks", "goroutines_peak": "goroutines",
    "largest_stable_n": "nodes", "hb_gap_p99_ms": "ms", "hb_gap_max_ms": "ms",
    "cpu_us_per_msg": "µs", "inbox_dropped": "messages",
}

# Lower is better for every metric except these (used by `compare`).
HIGHER_IS_BETTER = frozenset({"ok", "stable", "throughput_ops_s", "committed", "largest_stable_n"})


def _resources(rec: dict[str, Any], n: int) -> Iterator[tuple[str, float]]:
    out = rec["outside"]
    runtime = (rec.get("result") or {}).get("runtime") or {}
    cpu = out["cpu_user_s"] + out["cpu_sys_s"]
    # A driver that exits before the first poll (a fast simulator) was never
    # sampled; its own VmHWM reading is then the best figure there is.
    rss = out["rss_peak_kb"] or runtime.get("max_rss_kb") or 0
    yield from [("wall_s", out["wall_s"]), ("cpu_s", cpu), ("cpu_user_s", out["cpu_user_s"]),
                ("cpu_sys_s", out["cpu_sys_s"]), ("rss_peak_kb", rss),
                ("rss_per_node_kb", rss / n), ("threads_peak", out["threads_peak"])]
    for k in ("tasks_peak", "goroutines_peak"):
        if runtime.get(k) is not None:
            yield k, runtime[k]


def trial_cpu_s(rec: dict[str, Any]) -> float:
    """trial_cpu_s: the driver's CPU from the start of its trial to the end.

    Interpreter start-up is left out: it is up to 2 ms per command at light load
    in Python, which would swamp what the runtimes differ in. Records of older
    drivers without cpu_trial_s fall back to wait4's whole-process figure.
    """
    runtime = (rec.get("result") or {}).get("runtime") or {}
    if runtime.get("cpu_trial_s") is not None:
        return float(runtime["cpu_trial_s"])
    return float(rec["outside"]["cpu_user_s"] + rec["outside"]["cpu_sys_s"])


def _scenario_metrics(scenario: str, rec: dict[str, Any]) -> Iterator[tuple[str, float]]:
    m = rec["result"]["metrics"]
    if scenario in ("election", "scale"):
        yield "first_leader_ms", m["first_leader_ms"]
        yield "term_changes_after_leader", m["term_changes_after_leader"]
        yield "elections", m["elections"]
    if scenario == "scale":
        yield from _scale_metrics(rec, m)
    elif scenario == "failover":
        yield from (("failover_ms", v) for v in m["failover_ms"])
    elif scenario in ("replication", "capacity"):
        yield "throughput_ops_s", m["throughput_ops_s"]
        yield "committed", m["committed"]
        lat = m.get("commit_latency_ms") or {}
        if lat:
            yield "commit_p50_ms", lat["p50"]
            yield "commit_p99_ms", lat["p99"]
        if m["committed"]:
            yield "cpu_us_per_cmd", trial_cpu_s(rec) * 1e6 / m["committed"]


def _scale_metrics(rec: dict[str, Any], m: dict[str, Any]) -> Iterator[tuple[str, float]]:
    gap = m.get("heartbeat_gap_ms") or {}
    if gap:
        yield "hb_gap_p99_ms", gap["p99"]
        yield "hb_gap_max_ms", gap["max"]
    yield "inbox_dropped", m.get("inbox_dropped", 0)
    handled = m["messages_sent"] - m["messages_dropped"] - m.get("inbox_dropped", 0)
    if handled > 0:
        yield "cpu_us_per_msg", trial_cpu_s(rec) * 1e6 / handled


def _metrics(rec: dict[str, Any]) -> Iterator[tuple[str, float]]:
    k = rec["key"]
    yield "ok", float(rec["ok"])
    if k["scenario"] == "scale":
        yield "stable", float(is_stable(rec))
        if rec["ok"] and rec.get("result"):  # held or not, the run's costs are measured
            yield from _scenario_metrics("scale", rec)
            yield from _resources(rec, k["n"])
        return
    if not rec["ok"]:
        # A failover trial that hit the driver's own limit still timed the failovers it
        # completed; keeping them matters for slow lines (Figure 16's 150-151 ms).
        if k["scenario"] == "failover" and rec.get("result") and rec["exit_code"] == 0:
            yield from (("failover_ms", v) for v in rec["result"]["metrics"]["failover_ms"])
        return
    yield from _scenario_metrics(k["scenario"], rec)
    yield from _resources(rec, k["n"])


def values(records: list[dict[str, Any]]) -> pd.DataFrame:
    """values: the tidy table of every measured value; warm-ups left out."""
    rows: list[tuple[Any, ...]] = []
    for rec in records:
        if rec["warmup"]:
            continue
        k = rec["key"]
        base = (k["impl"], k["scenario"], k["variant"], k["n"], k["trial"])
        rows.extend((*base, metric, float(v)) for metric, v in _metrics(rec) if v is not None)
    return pd.DataFrame(rows, columns=[*KEYS, "trial", "metric", "value"])


def largest_stable(vals: pd.DataFrame) -> dict[str, int]:
    """largest_stable: per implementation, the largest N of the scale search that held
    one stable leader in every trial, below the smallest N that did not (0: none held)."""
    out: dict[str, int] = {}
    sc = vals[(vals.scenario == "scale") & (vals.metric == "stable")]
    for impl, g in sc.groupby("impl", sort=False):
        held = g.groupby("nodes").value.min()
        failed = held.index[held < 1]
        limit = failed.min() if len(failed) else np.inf
        good = held.index[(held >= 1) & (held.index < limit)]
        out[str(impl)] = int(good.max()) if len(good) else 0
    return out


def summary(vals: pd.DataFrame) -> pd.DataFrame:
    """summary: one row per implementation x scenario x variant x N x metric."""
    rows: list[dict[str, Any]] = []
    fails = vals[vals.metric == "ok"].groupby(KEYS).value.apply(lambda s: int((s < 1).sum()))
    for key, g in vals.groupby([*KEYS, "metric"], sort=True):
        s = stats.describe(g.value)
        rows.append({**dict(zip([*KEYS, "metric"], key, strict=True)),
                     "unit": UNITS.get(str(key[-1]), ""), **s.__dict__,
                     "failures": int(fails.get(key[:-1], 0))})
    scale = vals[(vals.scenario == "scale") & (vals.metric == "ok")]
    for impl, best in largest_stable(vals).items():
        mine = scale[scale.impl == impl]
        rows.append({"impl": impl, "scenario": "scale", "variant": mine.variant.iloc[0],
                     "nodes": None, "metric": "largest_stable_n", "unit": "nodes", "n": 1,
                     "median": best, "failures": int((mine.value < 1).sum())})
    cols = [*KEYS, "metric", "unit", "n", "median", "ci_low", "ci_high", "p10", "p90", "p99",
            "failures"]
    out = pd.DataFrame(rows, columns=cols)
    return out.astype({"nodes": "Int64"})  # whole numbers; empty for per-implementation rows


def failures(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """failures: the failed measured trials, with why and their stderr tail."""
    return [{**r["key"], "failure": r["failure"], "stderr_tail": r["stderr_tail"]}
            for r in records if not r["ok"] and not r["warmup"]]


def headline(vals: pd.DataFrame) -> Any:
    """headline: see bench.headline.headline (the verdict's figures and their samples)."""
    from bench.headline import headline as make

    return make(vals)


def scale_search(records: list[dict[str, Any]]) -> pd.DataFrame:
    """scale_search: see bench.headline.scale_search (each N tried, held or why not)."""
    from bench.headline import scale_search as make

    return make(records)
