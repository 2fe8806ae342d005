"""`raftbench check` with a fake driver and a stand-in trace checker."""

import json
import sys
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.checks import CASES
from bench.cli import app

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
