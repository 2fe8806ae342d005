"""`raftbench run` end to end with fake drivers: order, seeds, failures, resume."""

import json
from pathlib import Path

from fakedrivers import FAKE, use_drivers
from typer.testing import CliRunner

from bench import runner as runner_mod
from bench import store
from bench.cli import app


def records(run: Path) -> list[dict]:
    return store.load_records(run)


def invoke(*args: str):
    return CliRunner().invoke(app, ["run", *args])


def test_run_interleaves_implementations_and_seeds_by_trial(tmp_path, monkeypatch) -> None:
    use_drivers(tmp_path, monkeypatch, {"py-sim": "ok", "py-threads": "ok"})
    out = tmp_path / "run"
    res = invoke("--impl", "py-sim,py-threads", "--scenario", "election", "--sizes", "3,5",
                 "--trials", "2", "--out", str(out), "--no-report")
    assert res.exit_code == 0, res.output
    recs = records(out)
    warm = [r for r in recs if r["warmup"]]
    assert [r["key"]["impl"] for r in warm] == ["py-sim", "py-threads"]
    measured = [r for r in recs if not r["warmup"]]
    assert len(measured) == 2 * 2 * 2
    # A B A B ...: each consecutive pair is both implementations at one trial index.
    for a, b in zip(measured[::2], measured[1::2], strict=True):
        assert (a["key"]["impl"], b["key"]["impl"]) == ("py-sim", "py-threads")
        assert a["key"]["trial"] == b["key"]["trial"]
        assert a["scenario"]["seed"] == b["scenario"]["seed"] == a["key"]["trial"] + 1
    assert all(r["ok"] and r["outside"]["wall_s"] > 0 for r in measured)
    assert (out / "env.json").is_file() and (out / "run.json").is_file()


def test_scale_stops_at_the_first_unstable_size(tmp_path, monkeypatch) -> None:
    use_drivers(tmp_path, monkeypatch, {"py-sim": "ok"}, env={"FAKE_UNSTABLE_ABOVE": "6"})
    out = tmp_path / "run"
    res = invoke("--impl", "py-sim", "--scenario", "scale", "--trials", "1", "--out", str(out),
                 "--no-report")
    assert res.exit_code == 0, res.output
    sizes = [r["key"]["n"] for r in records(out) if r["key"]["scenario"] == "scale"]
    assert sizes == [3, 6, 12]
    assert records(out)[-1]["scenario"]["observe_ms"] == 500


def test_hung_and_crashing_drivers_are_recorded_and_the_run_goes_on(tmp_path, monkeypatch):
    use_drivers(tmp_path, monkeypatch,
                {"py-sim": "hang", "py-threads": "crash", "py-asyncio": "ok"})
    out = tmp_path / "run"
    res = invoke("--impl", "py-sim,py-threads,py-asyncio", "--scenario", "election",
                 "--sizes", "3", "--trials", "1", "--trial-timeout", "0.5", "--out", str(out),
                 "--no-report")
    assert res.exit_code == 0, res.output
    by_impl = {r["key"]["impl"]: r for r in records(out) if not r["warmup"]}
    hung, crashed, fine = by_impl["py-sim"], by_impl["py-threads"], by_impl["py-asyncio"]
    assert hung["timed_out"] and not hung["ok"] and "timed out" in hung["failure"]
    assert hung["exit_code"] is None and hung["result"] is None
    assert crashed["exit_code"] == 1 and not crashed["ok"]
    assert "simulated crash" in crashed["stderr_tail"]
    assert fine["ok"]
    assert "failed" in res.output


def test_interrupted_run_resumes_without_repeating_trials(tmp_path, monkeypatch) -> None:
    use_drivers(tmp_path, monkeypatch, {"py-sim": "ok", "py-threads": "ok"})
    out = tmp_path / "run"
    real, calls = runner_mod.run_driver, []

    def interrupt_after_five(*a, **k):
        calls.append(1)
        if len(calls) > 5:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(runner_mod, "run_driver", interrupt_after_five)
    args = ["--impl", "py-sim,py-threads", "--scenario", "election,replication", "--sizes",
            "3", "--trials", "2", "--out", str(out), "--no-report"]
    res = invoke(*args)
    assert res.exit_code == 130 and "--resume" in res.output
    before = records(out)
    assert len(before) == 5  # 2 warm-ups + 3 trials, each appended at once
    with (out / store.RESULTS).open("a") as f:
        f.write('{"format":1,"key":{"imp')  # torn line: killed mid-write

    monkeypatch.setattr(runner_mod, "run_driver", real)
    res = invoke("--resume", str(out), "--no-report")
    assert res.exit_code == 0, res.output
    after = records(out)
    measured = [store.key_of(r) for r in after if not r["warmup"]]
    assert len(measured) == len(set(measured)) == 2 * 2 * 3  # impls x trials x cells
    assert after[:5] == before
    assert sum(r["warmup"] for r in after) == 4  # warm-ups are made again on resume


def test_run_writes_the_report_at_the_end(tmp_path, monkeypatch) -> None:
    use_drivers(tmp_path, monkeypatch, {"py-sim": "ok", "py-threads": "ok"})
    out = tmp_path / "run"
    res = invoke("--impl", "py-sim,py-threads", "--scenario", "election,failover",
                 "--sizes", "3", "--trials", "2", "--out", str(out))
    assert res.exit_code == 0, res.output
    assert (out / "report.html").is_file() and (out / "summary.csv").is_file()
    assert (out / "charts" / "failover_cdf.png").is_file()


def test_default_impls_skip_the_missing_go_binary_with_a_warning(tmp_path, monkeypatch):
    table = {"go": {"argv": [str(tmp_path / "no-such-goraft")]},
             "go-1p": {"argv": [str(tmp_path / "no-such-goraft")]},
             "go-sim": {"argv": [str(tmp_path / "no-such-goraft")]},
             **{i: {"argv": ["{python}", str(FAKE), "ok"]}
                for i in ("py-threads", "py-asyncio", "py-asyncio-uvloop", "py-sim")}}
    (tmp_path / "d.json").write_text(json.dumps(table))
    monkeypatch.setenv("RAFTBENCH_DRIVERS", str(tmp_path / "d.json"))
    out = tmp_path / "run"
    res = invoke("--scenario", "election", "--sizes", "3", "--trials", "1", "--out", str(out),
                 "--no-report")
    assert res.exit_code == 0, res.output
    assert "warning: go skipped" in res.output and "warning: go-sim skipped" in res.output
    impls = {r["key"]["impl"] for r in records(out)}
    assert impls == {"py-threads", "py-asyncio", "py-asyncio-uvloop", "py-sim"}
    res = invoke("--impl", "go", "--out", str(tmp_path / "other"))
    assert res.exit_code == 2 and "go" in res.output and "not found" in res.output
    assert not (tmp_path / "other").exists()


def test_tcp_implementations_run_at_small_n_only() -> None:
    from bench import plan, presets

    cfg = presets.RunConfig("standard", ("py-asyncio", "py-asyncio-tcp"),
                            ("election", "capacity"), (3, 9, 33), 1, capacity_sizes=(3,))
    keys = [t.key for t in plan.fixed_trials(cfg)]
    tcp = {(k.scenario, k.n) for k in keys if k.impl == "py-asyncio-tcp"}
    assert tcp == {("election", 3), ("election", 9)}  # not N=33, and no capacity sweep
    assert {k.n for k in keys if k.impl == "py-asyncio"} == {3, 9, 33}
