"""Verdict: go ÷ each Python runtime from a synthetic headline and its samples."""

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bench import stats, verdict

GO = [590.0, 600.0, 610.0, 605.0, 595.0, 600.0]
PY = [100.0, 101.0, 99.0, 100.0, 102.0, 98.0]


def _rec(measure: str, nodes: int | None, impl: str, median: float, unit: str,
         bound: str = "runtime") -> dict[str, Any]:
    return {"measure": measure, "nodes": nodes, "impl": impl, "median": median,
            "ci_low": math.nan, "ci_high": math.nan, "unit": unit, "bound": bound}


def _headline(recs: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(recs, columns=verdict.HEADLINE_COLUMNS).astype({"nodes": "Int64"})


def _pair(measure: str, unit: str, go: list[float], py: list[float], nodes: int | None = 3,
          python: str = "py-asyncio", bound: tuple[str, str] = ("runtime", "runtime")
          ) -> tuple[pd.DataFrame, verdict.Samples]:
    head = _headline([_rec(measure, nodes, "go", float(np.median(go)), unit, bound[0]),
                      _rec(measure, nodes, python, float(np.median(py)), unit, bound[1])])
    return head, {(measure, nodes, "go"): np.array(go), (measure, nodes, python): np.array(py)}


def test_ratio_and_ci_come_from_stats_compare() -> None:
    head, samples = _pair("max_sustained_throughput", "cmd/s", GO, PY)
    (row,) = verdict.verdict(head, samples)
    c = stats.compare(base=PY, new=GO)
    assert row.ratio == pytest.approx(6.0) == pytest.approx(c.ratio)
    assert (row.ci_low, row.ci_high) == (c.ci_low, c.ci_high) and row.ci_low > 1
    assert row.winner == "go" and row.bound == "runtime" and row.n_go == 6
    assert row.sentence.startswith("go sustains 6× (")
    assert "the throughput of py-asyncio at N=3" in row.sentence
    assert "go 600 cmd/s, py-asyncio 100 cmd/s" in row.sentence
    assert row.sentence.endswith("go sustains more.")


def test_lower_is_better_for_cpu() -> None:
    head, samples = _pair("cpu_per_command", "µs", PY, GO, nodes=33, python="py-threads")
    (row,) = verdict.verdict(head, samples)
    assert row.ratio == pytest.approx(1 / 6) and row.ci_high < 1
    assert row.winner == "go" and "go spends 6× less CPU per command" in row.conclusion
    # The other way round the Python runtime wins.
    head, samples = _pair("cpu_per_command", "µs", GO, PY, nodes=33, python="py-threads")
    (row,) = verdict.verdict(head, samples)
    assert row.winner == "py-threads"


def test_a_ci_that_includes_one_draws_no_conclusion() -> None:
    head, samples = _pair("max_sustained_throughput", "cmd/s", PY, [99.0, 103.0, 97.0,
                                                                     100.0, 101.0, 98.0])
    (row,) = verdict.verdict(head, samples)
    assert row.ci_low <= 1 <= row.ci_high
    assert row.winner is None and row.conclusion == verdict.NO_DIFFERENCE


def test_harness_bound_rows_draw_no_conclusion() -> None:
    for bound in (("harness", "runtime"), ("runtime", "harness")):
        head, samples = _pair("max_sustained_throughput", "cmd/s", GO, PY, bound=bound)
        (row,) = verdict.verdict(head, samples)
        assert row.winner is None and row.bound == "harness"
        assert row.conclusion == "harness-bound: no conclusion"
        assert "harness-bound: no conclusion" in row.sentence
        cell = verdict.table([row]).iloc[0]["go ÷ py-asyncio"]
        assert cell.endswith("harness-bound: no conclusion")


def test_no_ci_from_fewer_than_five_trials() -> None:
    head, samples = _pair("max_sustained_throughput", "cmd/s", GO[:4], PY[:4])
    (row,) = verdict.verdict(head, samples)
    assert math.isnan(row.ci_low) and math.isnan(row.ci_high)
    assert "(" not in row.ratio_text
    # Every go trial beats every py-asyncio trial: said so, without a CI.
    assert row.winner == "go" and "every trial agrees" in row.conclusion
    head, samples = _pair("max_sustained_throughput", "cmd/s", [1.0, 5.0, 9.0],
                          [2.0, 4.0, 8.0])
    (row,) = verdict.verdict(head, samples)
    assert row.winner is None and row.conclusion == verdict.TOO_FEW


def test_single_values_give_a_ratio_without_ci() -> None:
    head = _headline([_rec("largest_stable_n", None, "go", 16384, "nodes"),
                      _rec("largest_stable_n", None, "py-threads", 2048, "nodes"),
                      _rec("rss_per_node", None, "go", 12.0, "KiB"),
                      _rec("rss_per_node", None, "py-threads", 30.0, "KiB")])
    stable, rss = verdict.verdict(head, {})
    assert stable.ratio == 8 and math.isnan(stable.ci_low) and stable.winner == "go"
    assert stable.ratio_text == "8×" and "16,384 nodes" in stable.sentence
    assert "holds a leader in larger clusters" in stable.conclusion
    assert rss.ratio == pytest.approx(0.4) and rss.winner == "go"
    assert "go uses 0.4× the memory per node of py-threads" in rss.sentence
    assert "12 KB" in rss.sentence and "2.5× less memory per node" in rss.conclusion


def test_a_capped_search_is_a_lower_bound() -> None:
    head = _headline([_rec("largest_stable_n", None, "go", 384, "nodes"),
                      _rec("largest_stable_n", None, "py-threads", 96, "nodes"),
                      _rec("largest_stable_n", None, "py-asyncio", 384, "nodes")])
    search = pd.DataFrame({"impl": ["go", "go", "py-threads", "py-threads", "py-asyncio"],
                           "nodes": [3, 384, 96, 192, 384],
                           "held": [True, True, True, False, True],
                           "reason": ["", "", "", "memory", ""]})
    threads, asyncio_ = verdict.verdict(head, None, search)
    assert threads.python == "py-threads" and threads.ratio_text == "≥ 4×"
    assert threads.winner == "go" and "go ≥ 384 nodes" in threads.sentence
    assert asyncio_.winner is None and "both held at every N tried" in asyncio_.conclusion


def test_nodes_keys_are_normalised() -> None:
    head, _ = _pair("max_sustained_throughput", "cmd/s", GO, PY)
    samples = {("max_sustained_throughput", np.int64(3), "go"): GO,
               ("max_sustained_throughput", 3.0, "py-asyncio"): PY}
    (row,) = verdict.verdict(head, samples)
    assert row.n_go == 6 and row.n_python == 6 and row.nodes == 3
    assert verdict.nodes_key(pd.NA) is None and verdict.nodes_key(float("nan")) is None


def test_rows_are_ordered_and_need_go() -> None:
    recs = [_rec("failover_vs_ideal", 5, impl, 1.0, "ratio") for impl in
            ("py-asyncio-uvloop", "go", "py-threads")]
    recs += [_rec("max_sustained_throughput", n, impl, 1000.0, "cmd/s")
             for n in (33, 3) for impl in ("py-asyncio", "go", "go-sim")]
    rows = verdict.verdict(_headline(recs), {})
    assert [(r.measure, r.nodes, r.python) for r in rows] == [
        ("max_sustained_throughput", 3, "py-asyncio"),
        ("max_sustained_throughput", 33, "py-asyncio"),
        ("failover_vs_ideal", 5, "py-threads"),
        ("failover_vs_ideal", 5, "py-asyncio-uvloop")]
    without_go = _headline([r for r in recs if r["impl"] != "go"])
    assert verdict.verdict(without_go, {}) == []
    assert verdict.verdict(_headline([]), {}) == []


def test_markdown_for_the_readme() -> None:
    head, samples = _pair("max_sustained_throughput", "cmd/s", GO, PY)
    rows = verdict.verdict(head, samples)
    lines = verdict.markdown(rows, head)
    assert lines[0] == "| measure | N | go ÷ py-asyncio |"
    assert lines[1] == "|---|---|---|"
    assert lines[2].startswith("| max sustained throughput (higher is better) | 3 | 6× (")
    assert lines[2].endswith(": go better |")
    assert any(line.startswith("- go sustains 6×") for line in lines)
    assert lines[-1].startswith("Not measured in this run: CPU per command, largest stable N")
    assert verdict.markdown([]) == [
        "No verdict: go and a Python runtime were not both measured in the capacity "
        "and scale scenarios of this run."]


def test_single_values_with_fit_cis_conclude_only_when_apart() -> None:
    def rss(go: tuple[float, float, float], py: tuple[float, float, float]) -> verdict.Row:
        recs = [{**_rec("rss_per_node", None, impl, m, "KiB"), "ci_low": lo, "ci_high": hi}
                for impl, (m, lo, hi) in (("go", go), ("py-asyncio", py))]
        (row,) = verdict.verdict(_headline(recs), {})
        return row

    apart = rss((12.0, 11.0, 13.0), (30.0, 28.0, 32.0))
    assert apart.winner == "go" and "CIs are apart" in apart.conclusion
    assert math.isnan(apart.ci_low)  # the ratio itself claims no CI
    close = rss((12.0, 9.0, 15.0), (14.0, 13.0, 16.0))
    assert close.winner is None and "CIs overlap" in close.conclusion


def test_every_cell_is_compared_with_go_and_p_values_are_adjusted() -> None:
    import pandas as pd

    from bench.versus import versus_go

    rows = []
    for impl, base in (("go", 100.0), ("py-asyncio", 300.0), ("py-threads", 101.0)):
        for t in range(6):
            rows.append((impl, "capacity", "c16", 3, t, "cpu_us_per_cmd", base + t))
            rows.append((impl, "election", "cold", 5, t, "first_leader_ms", 170.0 + t))
    vals = pd.DataFrame(rows, columns=["impl", "scenario", "variant", "nodes", "trial",
                                       "metric", "value"])
    table = versus_go(vals).set_index(["scenario", "impl"])
    slow = table.loc[("capacity", "py-asyncio")]
    assert slow.ratio > 2.9 and slow.ci_low > 1 and slow.p_bh < 0.05
    same = table.loc[("election", "py-threads")]
    assert same.ratio == 1 and same.p_bh > 0.5
    assert (table.n_go == 6).all()
