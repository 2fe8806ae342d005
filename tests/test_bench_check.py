"""The checks: `raftbench check` (the fault suite, with a fake driver and a stand-in
trace checker) and `raftbench gate` (the CI regression gate, `make bench-check`)."""

import json
import random
import sys
import types
from pathlib import Path

import pytest
from fakedrivers import use_drivers
from typer.testing import CliRunner

import bench.gate as gate
import bench.probe as probe
import bench.probe_legacy as probe_legacy
from bench.checks import CASES
from bench.cli import app
from bench.stats import p_greater, smallest_p_greater
from py_raft.scenario import scenario_from_dict

FAKE = Path(__file__).parent / "fixtures" / "bench" / "fake_driver.py"


def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: str | None) -> None:
    table = {"py-sim": {"argv": ["{python}", str(FAKE), "ok"]}}
    (tmp_path / "d.json").write_text(json.dumps(table))
    monkeypatch.setenv("RAFTBENCH_DRIVERS", str(tmp_path / "d.json"))
    checker = types.ModuleType("bench.tracecheck")

    def check_trace_file(path: Path) -> list[str]:
        assert path.read_text().strip(), "the driver wrote a trace"
        return ["two leaders in term 1"] if bad and bad in path.name else []

    checker.check_trace_file = check_trace_file  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bench.tracecheck", checker)


def test_check_passes_clean_traces(tmp_path, monkeypatch) -> None:
    setup(tmp_path, monkeypatch, bad=None)
    res = CliRunner().invoke(app, ["check", "--impl", "py-sim", "--trace-dir",
                                   str(tmp_path / "traces")])
    assert res.exit_code == 0, res.output
    assert f"{len(CASES)}/{len(CASES)} passed" in res.output
    assert len(list((tmp_path / "traces").glob("*.jsonl"))) == len(CASES)


def test_check_fails_on_a_violation(tmp_path, monkeypatch) -> None:
    setup(tmp_path, monkeypatch, bad="n4-isolate-leader")
    res = CliRunner().invoke(app, ["check", "--impl", "py-sim"])
    assert res.exit_code == 1, res.output
    assert "FAIL" in res.output and "two leaders" in res.output


def test_suite_covers_even_and_odd_sizes_and_every_fault() -> None:
    sizes = {c["nodes"] for c in CASES.values()}
    assert {2, 4} & sizes and {3, 5, 7} & sizes
    actions = {f["action"] for c in CASES.values() for f in c.get("faults", [])}
    assert actions == {"crash", "restart", "partition", "heal"}
    assert any(c.get("network", {}).get("drop_rate", 0) >= 0.1 for c in CASES.values())


# ---- `raftbench gate` (bench/gate.py): the CI regression gate ----------------------------
# Nothing here times anything: the decision rule gets synthetic samples, the rounds a
# fake measurement, and the probes run only to show that they run.


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """nowhere: the gate's baseline file and worktrees point into tmp_path/gate, not yet made."""
    root = tmp_path / "gate"
    monkeypatch.setattr(gate, "BASELINE", root / "baseline.json")
    monkeypatch.setattr(gate, "WORKTREES", root / "build")
    return root


@pytest.mark.parametrize(("argv", "named"), [
    (["--rounds", "1"], "--rounds"),
    (["--probes", "go/handle,py/handel"], "py/handel"),
    (["--probes", "py-asyncio-uvloop/e2e"], "--probes"),
    (["--alpha", "0"], "--alpha"),
    (["--min-effect", "-0.1"], "--min-effect"),
    (["--selftest-slowdown", "0.5"], "--selftest-slowdown"),
    (["--record", "--selftest-slowdown", "1.5"], "--record"),
    (["--json", "no/such/dir/gate.json"], "--json"),
    (["--rounds", "many"], "--rounds"),
])
def test_gate_bad_input_is_one_line_and_exit_2(nowhere, tmp_path, monkeypatch, argv,
                                               named) -> None:
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["gate", *argv])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), res.output
    assert named in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "nothing written"


def test_gate_without_a_baseline_is_one_line_and_exit_2(nowhere) -> None:
    res = CliRunner().invoke(app, ["gate", "--probes", "py/handle"])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "--record" in lines[0], res.output
    assert not nowhere.exists(), "nothing written, no worktree made"


def test_gate_names_a_baseline_commit_missing_from_the_clone(nowhere) -> None:
    nowhere.mkdir()
    gate.BASELINE.write_text('{"commit": "' + "0" * 40 + '"}')
    res = CliRunner().invoke(app, ["gate"])
    assert res.exit_code == 2 and "fetch-depth" in res.output, res.output
    assert not (nowhere / "build").exists()


def test_a_clear_slowdown_is_a_regression() -> None:
    base = [100.0 + i for i in range(8)]
    v = gate.verdict(base, [x * 1.3 for x in base], alpha=0.01, min_effect=0.08)
    assert v.regression and v.ratio == pytest.approx(1.3) and v.p < 0.01


def test_a_significant_but_small_slowdown_is_not() -> None:
    base = [100.0 + i / 10 for i in range(8)]
    v = gate.verdict(base, [x * 1.05 for x in base], alpha=0.01, min_effect=0.08)
    assert v.p < 0.01 and not v.regression, "below the effect size"


def test_a_large_but_unproven_slowdown_is_not() -> None:
    base = [100.0, 101.0, 102.0]
    v = gate.verdict(base, [200.0, 201.0, 202.0], alpha=0.01, min_effect=0.08)
    assert v.ratio > 1.9 and not v.regression, "three values a side cannot reach p < 0.01"
    assert v.p == pytest.approx(smallest_p_greater(3))


def test_a_speedup_is_not_a_regression() -> None:
    base = [100.0 + i for i in range(8)]
    v = gate.verdict(base, [x / 2 for x in base], alpha=0.01, min_effect=0.08)
    assert not v.regression and v.p > 0.99


def test_p_values_are_adjusted_over_the_probes_of_a_run() -> None:
    base = [100.0 + i for i in range(8)]
    borderline = [102.0, 105.0, 110.0, 112.0, 113.0, 114.0, 115.0, 116.0]
    alone = gate.verdict(base, borderline, alpha=0.01, min_effect=0.08)
    assert alone.regression and 0.001 < alone.p < 0.01, "flagged when it is the only probe"
    flat = {f"probe{i}": (base, list(base)) for i in range(4)}
    family = gate.judge({"one": (base, borderline)} | flat, alpha=0.01, min_effect=0.08)
    assert family["one"].p == alone.p and family["one"].p_adjusted > 0.01
    assert not any(v.regression for v in family.values()), "one of five: not enough"
    clear = gate.judge({"one": (base, [x * 1.5 for x in base])} | flat, 0.01, 0.08)
    assert clear["one"].regression, "a clear shift stays a regression among five probes"


def test_a_handling_probe_is_the_best_of_its_repeats(monkeypatch) -> None:
    outputs = iter(["9.0", "7.5", "8.0"])
    monkeypatch.setattr(gate.Tree, "output", lambda self, argv: next(outputs))
    assert gate.measure("py/handle", gate.Tree(Path("t"))) == 7.5
    bench_out = "".join(f"BenchmarkHandleAppendEntries-2  300000  {ns} ns/op\n"
                        for ns in (1300, 1210.5, 1405))
    seen: list[list[str]] = []
    monkeypatch.setattr(gate.Tree, "output", lambda self, argv: seen.append(argv) or bench_out)
    assert gate.measure("go/handle", gate.Tree(Path("t"))) == 1210.5
    assert seen[0][-2:] == ["-test.count", str(gate.REPEATS)]


def test_the_test_is_one_sided_and_needs_enough_rounds() -> None:
    low, high = [1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0]
    assert p_greater(low, high) < 0.01 < 0.99 < p_greater(high, low)
    assert smallest_p_greater(2) == pytest.approx(1 / 6)
    assert smallest_p_greater(4) > 0.01 > smallest_p_greater(5), "so --rounds 8 by default"


def test_rounds_alternate_the_order_and_catch_a_slowed_tree() -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    calls: list[tuple[str, str]] = []

    def fake(p: str, tree: gate.Tree) -> float:
        calls.append((p, tree.path.name))
        return rng.uniform(95, 105) * tree.slowdown

    opts = gate.options(8, ["py/handle,go/e2e"], 0.01, 0.08, 1.5)
    verdicts = gate.rounds(opts, gate.Tree(Path("base")), gate.Tree(Path("new"), opts.slowdown),
                           fake)
    assert calls[:4] == [("py/handle", "base"), ("py/handle", "new"),
                         ("go/e2e", "base"), ("go/e2e", "new")]
    assert calls[4:6] == [("py/handle", "new"), ("py/handle", "base")], "ABBA"
    assert len(calls) == 8 * 2 * 2
    assert all(v.regression and len(v.base) == len(v.new) == 8 for v in verdicts.values()), \
        f"seed {seed}"


def test_rendered_lines_name_every_probe_and_its_verdict() -> None:
    v = gate.verdict([1.0] * 3 + [2.0], [3.0] * 4, 0.5, 0.08)
    lines = gate.render({"py-threads/e2e": v, "go/handle": gate.verdict([1, 2], [1, 2], .5, 0)})
    assert lines[0].startswith("py-threads/e2e") and lines[0].endswith("REGRESSION")
    assert " 1 µs -> 3 µs " in lines[0] and " 1.5 ns -> 1.5 ns " in lines[1], \
        "the medians, baseline first, in the probe's unit"
    assert lines[1].endswith("ok")


def test_the_gate_runs_only_the_three_real_runtimes() -> None:
    measured = {p.split("/")[0] for p in gate.PROBES if p.endswith("/e2e")}
    assert measured == {"go", "py-asyncio", "py-threads"}


def test_a_driver_runs_from_the_tree_it_measures(tmp_path) -> None:
    tree = gate.Tree(tmp_path, slowdown=1.5)
    go = tree.driver("go")
    assert go.argv[0] == str(tmp_path / "go_raft" / "bin" / "goraft")
    py = tree.driver("py-threads")
    assert py.argv[0] == sys.executable, "the interpreter stays"
    assert py.env["PYTHONPATH"] == str(tmp_path) and py.env["PYTHONSAFEPATH"] == "1"
    assert py.env[gate.SELFTEST_ENV] == "1.5"


def test_a_failed_trial_stops_the_gate_with_its_reason(tmp_path, monkeypatch) -> None:
    use_drivers(tmp_path, monkeypatch, {"py-asyncio": "crash"})
    with pytest.raises(gate.GateError, match="status 1.*simulated crash"):
        gate.measure("py-asyncio/e2e", gate.Tree(gate.ROOT))


def test_the_probe_module_handles_messages_and_names_a_valid_workload() -> None:
    assert probe.handle_ns(50) > 0
    scenario_from_dict(probe.WORKLOAD)  # raises on a field the drivers no longer read
    assert gate.Tree(gate.ROOT).workload == probe.WORKLOAD, "as `python -m bench.probe` says"


def test_the_probe_module_refuses_bad_input(capsys) -> None:
    assert probe.main(["py-handle", "0"]) == 2
    assert probe.main(["elsewhere"]) == 2
    assert capsys.readouterr().err.count("error:") == 2


def test_a_tree_older_than_the_probe_module_runs_its_own_old_gate(tmp_path) -> None:
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "__init__.py").write_text("")
    (tmp_path / "bench" / "gate.py").write_text(
        'PY_HANDLE = "print(123.5)"\nWORKLOAD = {"scenario": "replication"}\n')
    old = gate.Tree(tmp_path)
    assert old.probe_argv("workload")[-2:] == [str(gate.LEGACY_PROBE), "workload"]
    assert old.workload == {"scenario": "replication"}
    assert gate.measure("py/handle", old) == 123.5
    assert probe_legacy.main(["elsewhere"]) == 2
