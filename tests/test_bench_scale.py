"""The capacity sweep, the scale search, the memory cap and the headline's bound rule."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from fakedrivers import use_drivers
from typer.testing import CliRunner

from bench import analyze, store
from bench.cli import app
from bench.headline import headline, scale_search
from bench.plan import driver_scenario
from bench.presets import preset_config
from bench.runner import Runner


def test_capacity_points_use_a_fast_network_and_simulators_stop_by_count() -> None:
    cfg = preset_config("standard", ["go", "go-sim"])
    real = driver_scenario(cfg, "capacity", 33, "c256", 0, "go")
    ideal = driver_scenario(cfg, "capacity", 33, "c256", 0, "go-sim")
    assert real["clients"] == 256 and real["network"] == {"latency_ms": 0.001, "jitter_ms": 0}
    assert real["duration_ms"] == cfg.capacity_ms and "commands" not in real
    assert ideal["commands"] == cfg.capacity_sim_commands
    assert real["memory_limit_mb"] == cfg.memory_cap_mb - 512


def test_scale_scenario_widens_only_the_first_election() -> None:
    cfg = preset_config("standard", ["go"])
    sc = driver_scenario(cfg, "scale", 1000, "hold-1s", 0, "go")
    assert sc["election_timeout_ms"] == [150.0, 300.0] and sc["heartbeat_ms"] == 50.0
    assert sc["first_election_timeout_ms"] == [150.0, 150.0 + 1000 * 20.0]


def test_scale_search_doubles_then_bisects_and_checks_the_simulator(tmp_path, monkeypatch):
    use_drivers(tmp_path, monkeypatch, {"py-threads": "ok", "py-sim": "ok"},
                env={"FAKE_UNSTABLE_ABOVE": "40"})
    cfg = dataclasses.replace(preset_config("quick", ["py-threads", "py-sim"]),
                              scenarios=("scale",), scale_bisect=2)
    path = tmp_path / "run"
    store.create_run(path, cfg, {})
    Runner(path, cfg).run()
    recs = store.load_records(path)
    tried = [r["key"]["n"] for r in recs
             if r["key"]["scenario"] == "scale" and r["key"]["impl"] == "py-threads"]
    assert tried == [3, 6, 12, 24, 48, 36, 42]  # doubling, then bisection 24..48
    search = scale_search(recs)
    mine = search[search.impl == "py-threads"]
    assert mine[~mine.held].nodes.tolist() == [42, 48]
    assert set(mine[~mine.held].reason) == {"a follower timed out"}
    sim = search[search.impl == "py-sim"]
    # The simulator runs at every N tried and at 4x the largest stable N (36 -> 144);
    # the fake driver is unstable above 40 there too, so the limit is not the runtime's.
    assert set(sim.nodes) == {3, 6, 12, 24, 36, 42, 48, 144}
    vals = analyze.values(recs)
    assert analyze.largest_stable(vals)["py-threads"] == 36
    table, _ = headline(vals)
    row = table[(table.measure == "largest_stable_n") & (table.impl == "py-threads")].iloc[0]
    assert row["median"] == 36 and row["bound"] == "harness"


def test_a_driver_past_the_memory_cap_is_killed_and_recorded(tmp_path, monkeypatch) -> None:
    use_drivers(tmp_path, monkeypatch, {"py-threads": "hog"})
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", "--impl", "py-threads", "--scenario", "election",
                                   "--sizes", "3", "--trials", "1", "--memory-cap", "100",
                                   "--out", str(out), "--no-report"])
    assert res.exit_code == 0, res.output
    rec = [r for r in store.load_records(out) if not r["warmup"]][0]
    assert not rec["ok"] and rec["failure"].startswith("memory:"), rec["failure"]
    assert rec["outside"]["rss_peak_kb"] < 1024 * 1024  # killed long before its 2 GB
    assert store.failure_reason(rec) == "memory"


@pytest.mark.parametrize("value", ["0", "-1", "1e9", "many"])
def test_bad_memory_cap_is_one_line_and_exit_2(tmp_path, value) -> None:
    res = CliRunner().invoke(app, ["run", "--memory-cap", value, "--out", str(tmp_path / "r")])
    assert res.exit_code == 2
    assert not (tmp_path / "r").exists()


def _vals(rows: list[tuple[str, str, str, int, str, list[float]]]) -> pd.DataFrame:
    out = [(impl, sc, var, n, t, metric, v)
           for impl, sc, var, n, metric, xs in rows for t, v in enumerate(xs)]
    return pd.DataFrame(out, columns=["impl", "scenario", "variant", "nodes", "trial",
                                      "metric", "value"])


def _capacity(impl: str, tput: float, p99: float, variant: str = "c256") -> list:
    return [(impl, "capacity", variant, 3, "throughput_ops_s", [tput, tput * 1.01, tput * 0.99]),
            (impl, "capacity", variant, 3, "commit_p99_ms", [p99, p99, p99]),
            (impl, "capacity", variant, 3, "cpu_us_per_cmd", [10.0, 11.0, 12.0])]


def test_throughput_is_runtime_bound_only_when_the_simulator_is_4x_better() -> None:
    vals = _vals(_capacity("go", 100_000, 5) + _capacity("py-asyncio", 30_000, 9)
                 + _capacity("go-sim", 350_000, 0.1))
    table, samples = headline(vals)
    tput = table[table.measure == "max_sustained_throughput"].set_index("impl")
    assert tput.loc["go", "bound"] == "harness"  # 3.5x: the harness may be the limit
    assert tput.loc["py-asyncio", "bound"] == "runtime"
    assert tput.loc["go", "median"] == pytest.approx(100_000)
    assert list(table.columns) == ["measure", "nodes", "impl", "median", "ci_low", "ci_high",
                                   "unit", "bound"]
    assert samples[("max_sustained_throughput", 3, "go")].size == 3


def test_max_sustained_throughput_skips_loads_past_the_p99_bound() -> None:
    vals = _vals(_capacity("py-threads", 5_000, 20, "c16")
                 + _capacity("py-threads", 7_000, 400, "c1024")
                 + _capacity("py-sim", 10**7, 0.1, "c16")
                 + _capacity("py-sim", 10**8, 0.1, "c1024"))
    table, _ = headline(vals)
    row = table[(table.measure == "max_sustained_throughput")].iloc[0]
    assert row["impl"] == "py-threads" and row["median"] == pytest.approx(5_000)


def test_largest_stable_n_is_runtime_bound_when_the_simulator_holds_at_4x() -> None:
    rows = []
    for n, held in [(3, 1), (6, 1), (12, 1), (24, 0)]:
        rows.append(("go", "scale", "hold-1s", n, "stable", [held]))
    for n in (3, 6, 12, 24, 48):
        rows.append(("go-sim", "scale", "hold-1s", n, "stable", [1]))
    table, _ = headline(_vals(rows))
    row = table[table.measure == "largest_stable_n"].iloc[0]
    assert (row["impl"], row["median"], row["bound"]) == ("go", 12, "runtime")
    capped = _vals([r for r in rows if r[3] != 24 or r[0] != "go"])
    row = headline(capped)[0].query("measure == 'largest_stable_n'").iloc[0]
    assert row["bound"] == "harness"  # it never failed: the search's cap is the limit


def test_rss_per_node_is_the_slope_over_held_sizes() -> None:
    rows = []
    for n in (100, 200, 400, 800):
        rows.append(("py-asyncio", "scale", "hold-1s", n, "stable", [1]))
        rows.append(("py-asyncio", "scale", "hold-1s", n, "rss_peak_kb", [20_000 + 7.0 * n]))
    table, _ = headline(_vals(rows))
    row = table[table.measure == "rss_per_node"].iloc[0]
    assert row["median"] == pytest.approx(7.0)
    assert np.isfinite(row["ci_low"]) and row["ci_low"] <= 7.0 <= row["ci_high"]
