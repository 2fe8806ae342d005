"""Verdict: go ÷ each Python runtime, measure by measure, in plain words; and each
driver of ours ÷ its anchor (go ÷ anchor-hashicorp, py-asyncio ÷ anchor-pysyncobj:
the libraries a user would pick instead, docs/anchors.md) for ANCHOR_MEASURES.

From the headline table (bench.analyze.headline) and the samples behind its
medians, each verdict row is one ratio, median(go) / median(Python runtime),
with a 95% bootstrap CI from bench.stats.compare. A row draws a conclusion only
when it may:

- harness-bound rows (the harness, not the runtime, set the limit): none;
- with samples of at least MIN_CI_TRIALS on both sides: when the CI excludes 1×;
- with fewer samples no CI is claimed; a conclusion only when every go trial
  is better than every trial of the other runtime;
- single values (largest stable N, RSS per node from a fit): the ratio alone, no
  CI; no conclusion where a side is only a lower bound (it held at every N tried)
  or where the headline gives both values a CI (a fit's) and the two overlap.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bench import stats
from bench.impls import ANCHORS
from bench.units import MISSING, fmt, fmt_range

BASE = "go"
PYTHON_RUNTIMES: tuple[str, ...] = ("py-threads", "py-asyncio", "py-asyncio-uvloop")
# The measures each driver is set beside its anchor in: what the runtimes, not
# the timeouts, decide.
ANCHOR_MEASURES: tuple[str, ...] = ("max_sustained_throughput", "cpu_per_command")
MIN_CI_TRIALS = 5  # no CI is claimed from fewer trials (in the verdict or in a chart)
HEADLINE_COLUMNS = ["measure", "nodes", "impl", "median", "ci_low", "ci_high", "unit", "bound"]

Samples = Mapping[tuple[str, int | None, str], Any]


@dataclass(frozen=True)
class Measure:
    title: str  # for tables: "max sustained throughput"
    verb: str  # "go <verb> 5.9× <of> py-asyncio"
    of: str
    higher_is_better: bool | None  # None: no direction, so never a conclusion
    better: str  # the conclusion: "{who} spends {factor} less CPU" ({factor}: "2.6×", >= 1)


MEASURES: dict[str, Measure] = {
    "max_sustained_throughput": Measure(
        "max sustained throughput", "sustains", "the throughput of", True,
        "{who} sustains more"),
    "cpu_per_command": Measure(
        "CPU per command", "spends", "the CPU per command of", False,
        "{who} spends {factor} less CPU per command"),
    "largest_stable_n": Measure(
        "largest stable N", "holds a leader at", "the cluster size of", True,
        "{who} holds a leader in larger clusters"),
    "rss_per_node": Measure(
        "memory per node", "uses", "the memory per node of", False,
        "{who} uses {factor} less memory per node"),
    "failover_vs_ideal": Measure(
        "failover time over the ideal", "takes", "the failover time (over the ideal) of",
        False, "{who} fails over closer to the ideal"),
}

HARNESS_BOUND = "harness-bound: no conclusion"
NO_DIFFERENCE = "no clear difference (the 95% CI includes 1×)"
TOO_FEW = f"no conclusion (fewer than {MIN_CI_TRIALS} trials: no CI)"


@dataclass(frozen=True)
class Row:
    """Row: one verdict, base ÷ other for one measure at one N: go ÷ a Python runtime,
    or a driver of ours ÷ its anchor (then `python` holds the anchor)."""

    measure: str
    nodes: int | None
    python: str  # the other side: a Python runtime, or an anchor
    ratio: float  # median(base) / median(python)
    ci_low: float  # NaN: no CI claimed
    ci_high: float
    go_value: float
    python_value: float
    unit: str
    n_go: int  # samples behind each median (0: a single value)
    n_python: int
    bound: str  # "runtime", or "harness" when either side is harness-bound
    limit: str  # "≥" or "≤" when one side is only a lower bound (held at every N tried)
    winner: str | None  # BASE, the Python runtime, or None (no conclusion)
    conclusion: str
    sentence: str
    base: str = BASE  # go, or the driver an anchor is set beside

    @property
    def column(self) -> str:
        """column: the verdict table's column of this row, "go ÷ py-asyncio"."""
        return f"{self.base} ÷ {self.python}"

    @property
    def ratio_text(self) -> str:
        """ratio_text: "5.9× (5.1–6.8×)", or "5.9×" without a CI."""
        r = f"{self.limit} {fmt(self.ratio, 'ratio')}" if self.limit else fmt(self.ratio, "ratio")
        if math.isnan(self.ci_low) or math.isnan(self.ci_high):
            return r
        return f"{r} ({fmt_range(self.ci_low, self.ci_high, 'ratio')})"


def nodes_key(value: Any) -> int | None:
    """nodes_key: a headline N as an int, or None for per-implementation measures."""
    if value is None or value is pd.NA:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else int(f)


def _measure(name: str) -> Measure:
    return MEASURES.get(name) or Measure(name.replace("_", " "), "has", f"the {name} of",
                                         None, "{who} is better")


def _better(m: Measure, who: str, ratio: float) -> str:
    factor = fmt(max(ratio, 1 / ratio), "ratio") if ratio > 0 else "?"
    return m.better.format(who=who, factor=factor)


def _order(name: str) -> int:
    return list(MEASURES).index(name) if name in MEASURES else len(MEASURES)


def _bound(row: Mapping[str, Any]) -> str:
    b = row.get("bound")
    return "harness" if isinstance(b, str) and b.strip().lower() == "harness" else "runtime"


def _samples(samples: Samples | None) -> dict[tuple[str, int | None, str], np.ndarray]:
    out: dict[tuple[str, int | None, str], np.ndarray] = {}
    for (m, n, impl), v in (samples or {}).items():
        x = np.asarray(v, dtype=float)
        out[(str(m), nodes_key(n), str(impl))] = x[~np.isnan(x)]
    return out


def capped(search: pd.DataFrame | None) -> set[str]:
    """capped: the implementations that held at every N the scale search tried, so that
    their largest stable N is a lower bound (the search's cap), not a limit."""
    if search is None or search.empty:
        return set()
    return {str(impl) for impl, g in search.groupby("impl") if bool(g.held.astype(bool).all())}


def _winner(m: Measure, ratio: float, python: str, base: str = BASE) -> str | None:
    if m.higher_is_better is None or not math.isfinite(ratio) or ratio == 1:
        return None
    return base if (ratio > 1) == m.higher_is_better else python


def _separated(m: Measure, go: np.ndarray, py: np.ndarray, python: str,
               base: str = BASE) -> str | None:
    """_separated: who won every trial pair (no CI claimed), or None."""
    if m.higher_is_better is None or go.size == 0 or py.size == 0:
        return None
    if go.min() > py.max():
        return base if m.higher_is_better else python
    if go.max() < py.min():
        return python if m.higher_is_better else base
    return None


def _finite(*xs: Any) -> bool:
    try:
        return all(math.isfinite(float(x)) for x in xs)
    except (TypeError, ValueError):
        return False


def _overlap(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool | None:
    """_overlap: whether two headline rows' CIs overlap; None when either has none."""
    if not _finite(a.get("ci_low"), a.get("ci_high"), b.get("ci_low"), b.get("ci_high")):
        return None
    return float(a["ci_low"]) <= float(b["ci_high"]) and float(b["ci_low"]) <= float(a["ci_high"])


def _judge(m: Measure, ratio: float, lo: float, hi: float, go: np.ndarray, py: np.ndarray,
           python: str, harness: bool, lower_bounds: set[str],
           overlap: bool | None = None, base: str = BASE) -> tuple[str | None, str]:
    """_judge: the winner (or None) and the conclusion in words; go stands for base."""
    if harness:
        return None, HARNESS_BOUND
    if not math.isfinite(ratio):
        return None, "no conclusion (a median is zero or missing)"
    if go.size == 0 and py.size == 0:  # single values: no CI
        if base in lower_bounds and python in lower_bounds:
            return None, "no conclusion: both held at every N tried"
        winner = _winner(m, ratio, python, base)
        loser = python if winner == base else base
        if winner is None:
            return None, "the same (one value each)"
        if loser in lower_bounds:  # the loser's value is only a lower bound
            return None, f"no conclusion: {loser} held at every N tried"
        if overlap:
            return None, "no conclusion (the two values' 95% CIs overlap)"
        if overlap is False:
            return winner, _better(m, winner, ratio) + " (the two values' 95% CIs are apart)"
        return winner, _better(m, winner, ratio) + " (one value each, no CI)"
    if math.isnan(lo) or math.isnan(hi):
        won = _separated(m, go, py, python, base)
        if won is None:
            return None, TOO_FEW
        return won, (_better(m, won, ratio)
                     + f" (every trial agrees; no CI from fewer than {MIN_CI_TRIALS} trials)")
    if lo <= 1 <= hi:
        return None, NO_DIFFERENCE
    winner = _winner(m, ratio, python, base)
    if winner is None:
        return None, "no direction for this measure"
    return winner, _better(m, winner, ratio)


def _values_text(go: float, py: float, unit: str, python: str, lower_bounds: set[str],
                 base: str = BASE) -> str:
    g, p = fmt(go, unit), fmt(py, unit)
    if base in lower_bounds:
        g = f"≥ {g}"
    if python in lower_bounds:
        p = f"≥ {p}"
    return f"{base} {g}, {python} {p}"


def verdict(headline: pd.DataFrame, samples: Samples | None = None,
            search: pd.DataFrame | None = None, base: str = BASE,
            others: Sequence[str] = PYTHON_RUNTIMES) -> list[Row]:
    """verdict: one Row per measure, N and Python runtime where both sides were measured.

    headline has the columns of HEADLINE_COLUMNS; samples maps (measure, nodes, impl)
    to the raw values behind a median; search (bench.analyze.scale_search) marks
    largest stable N values that are only lower bounds.
    """
    if headline is None or headline.empty or base != BASE:
        return []
    raw = _samples(samples)
    lower_bounds = capped(search)
    table: dict[tuple[str, int | None, str], dict[str, Any]] = {}
    for raw_rec in headline.to_dict("records"):
        rec = {str(k): v for k, v in raw_rec.items()}
        table[(str(rec["measure"]), nodes_key(rec.get("nodes")), str(rec["impl"]))] = rec
    rows: list[Row] = []
    cells = sorted({(m, n) for m, n, _ in table},
                   key=lambda k: (_order(k[0]), k[0], -1 if k[1] is None else k[1]))
    for name, n in cells:
        go_rec = table.get((name, n, base))
        if go_rec is None:
            continue
        for python in others:
            py_rec = table.get((name, n, python))
            if py_rec is not None:
                rows.append(_row(name, n, python, go_rec, py_rec, raw, lower_bounds))
    return rows + anchor_rows(table, raw, cells)


def anchor_rows(table: Mapping[tuple[str, int | None, str], Mapping[str, Any]],
                raw: Mapping[tuple[str, int | None, str], np.ndarray],
                cells: Sequence[tuple[str, int | None]]) -> list[Row]:
    """anchor_rows: each driver of ours ÷ its anchor, for ANCHOR_MEASURES, at every N
    where both were measured; after the go rows, in the same order of measures."""
    rows = []
    for name, n in cells:
        if name not in ANCHOR_MEASURES:
            continue
        for anchor, ref in ANCHORS.items():
            ref_rec, anchor_rec = table.get((name, n, ref)), table.get((name, n, anchor))
            if ref_rec is not None and anchor_rec is not None:
                rows.append(_row(name, n, anchor, ref_rec, anchor_rec, raw, set(), ref))
    return rows


def _row(name: str, n: int | None, python: str, go_rec: Mapping[str, Any],
         py_rec: Mapping[str, Any], raw: Mapping[tuple[str, int | None, str], np.ndarray],
         lower_bounds: set[str], base: str = BASE) -> Row:
    """_row: base ÷ python for one measure at one N (go_rec is base's headline row)."""
    m = _measure(name)
    empty = np.array([], dtype=float)
    go = raw.get((name, n, base), empty)
    py = raw.get((name, n, python), empty)
    go_med, py_med = float(go_rec["median"]), float(py_rec["median"])
    lo = hi = math.nan
    if go.size and py.size:
        c = stats.compare(base=py, new=go)
        ratio = c.ratio
        if min(go.size, py.size) >= MIN_CI_TRIALS:
            lo, hi = c.ci_low, c.ci_high
    else:
        go, py = empty, empty  # one side lacks samples: compare the medians only
        ratio = go_med / py_med if py_med else math.nan
    harness = "harness" in (_bound(go_rec), _bound(py_rec))
    caps = lower_bounds if name == "largest_stable_n" else set()
    winner, conclusion = _judge(m, ratio, lo, hi, go, py, python, harness, caps,
                                _overlap(go_rec, py_rec), base)
    unit = str(go_rec.get("unit") or "")
    limit = ("" if (base in caps) == (python in caps) else "≥" if base in caps else "≤")
    row = Row(name, n, python, ratio, lo, hi, go_med, py_med, unit, int(go.size),
              int(py.size), "harness" if harness else "runtime", limit, winner, conclusion, "",
              base)
    at = f" at N={n}" if n is not None else ""
    sentence = (f"{base} {m.verb} {row.ratio_text} {m.of} {python}{at} "
                f"({_values_text(go_med, py_med, unit, python, caps, base)}) — {conclusion}.")
    return Row(**{**row.__dict__, "sentence": sentence})


def table(rows: Sequence[Row]) -> pd.DataFrame:
    """table: the verdict as one line per measure and N, one column per Python runtime
    and one per anchor; a cell is "ratio (CI): conclusion"."""
    cols = (["measure", "N"] + [f"{BASE} ÷ {p}" for p in PYTHON_RUNTIMES]
            + [f"{ref} ÷ {anchor}" for anchor, ref in ANCHORS.items()])
    data: dict[tuple[str, int | None], dict[str, str]] = {}
    for r in rows:
        cell = data.setdefault((r.measure, r.nodes), {})
        cell[r.column] = f"{r.ratio_text}: {_short(r)}"
    out = []
    for (name, n), cell in data.items():
        m = _measure(name)
        better = ("" if m.higher_is_better is None
                  else " (higher is better)" if m.higher_is_better else " (lower is better)")
        out.append({"measure": m.title + better, "N": "" if n is None else str(n),
                    **{c: cell.get(c, MISSING) for c in cols[2:]}})
    df = pd.DataFrame(out, columns=cols)
    return df.loc[:, [c for c in cols if c in ("measure", "N") or (df[c] != MISSING).any()]]


def _short(r: Row) -> str:
    if r.bound == "harness":
        return HARNESS_BOUND
    if r.winner is not None:
        return f"{r.winner} better"
    return "no conclusion"


def missing(headline: pd.DataFrame | None) -> list[str]:
    """missing: the titles of the headline measures this run has no verdict for."""
    have = set() if headline is None or headline.empty else set(headline.measure.astype(str))
    return [m.title for name, m in MEASURES.items() if name not in have]


def markdown(rows: Sequence[Row], headline: pd.DataFrame | None = None) -> list[str]:
    """markdown: the verdict as Markdown lines (a table, then one bullet per row), for
    README.md; with headline, a last line names the measures the run lacks."""
    if not rows:
        return ["No verdict: go and a Python runtime were not both measured in the capacity "
                "and scale scenarios of this run."]
    df = table(rows)
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(str(v) for v in rec) + " |" for rec in df.itertuples(False)]
    lines += ["", *(f"- {r.sentence}" for r in rows)]
    gone = missing(headline) if headline is not None else []
    if gone:
        lines += ["", f"Not measured in this run: {', '.join(gone)}."]
    return lines
