"""The raftbench CLI: bad input is one line and exit 2 and writes nothing; small commands."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench import __version__
from bench.cli import app

FIXTURE_RUN = Path(__file__).parent / "fixtures" / "bench" / "run"

BAD = [
    (["run", "--preset", "bogus"], "--preset"),
    (["run", "--impl", "py-threads,nope"], "nope"),
    (["run", "--scenario", "election,dance"], "dance"),
    (["run", "--sizes", "3,x"], "'x'"),
    (["run", "--sizes", "0"], "--sizes"),
    (["run", "--sizes", "2", "--scenario", "failover"], "--sizes"),
    (["run", "--sizes", "100001", "--scenario", "election"], "--sizes"),
    (["run", "--trials", "0"], "--trials"),
    (["run", "--trials", "many"], "--trials"),
    (["run", "--trial-timeout", "-1"], "--trial-timeout"),
    (["run", "--resume", "/nonexistent/run"], "/nonexistent/run"),
    (["report", "/nonexistent/run"], "/nonexistent/run"),
    (["report"], "RUN_DIR"),
    (["compare", "/nonexistent/a", "/nonexistent/b"], "/nonexistent/a"),
    (["check", "--impl", "nope"], "nope"),
    (["frobnicate"], "frobnicate"),
]


@pytest.mark.parametrize(("argv", "named"), BAD)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, argv, named) -> None:
    results = tmp_path / "results"
    extra = ["--results-dir", str(results)] if argv[0] == "run" else []
    res = CliRunner().invoke(app, [*argv, *extra])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), res.output
    assert named in lines[0]
    assert not results.exists()


def test_resume_refuses_other_settings(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE_RUN, run)
    before = (run / "results.jsonl").read_bytes()
    res = CliRunner().invoke(app, ["run", "--resume", str(run), "--trials", "9"])
    assert res.exit_code == 2 and "--trials" in res.output
    assert (run / "results.jsonl").read_bytes() == before


def test_out_must_not_hold_another_run(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep").write_text("")
    res = CliRunner().invoke(app, ["run", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "--resume" in res.output
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["keep"]


def test_version() -> None:
    res = CliRunner().invoke(app, ["version"])
    assert res.exit_code == 0 and __version__ in res.output


def test_run_help_has_examples() -> None:
    res = CliRunner().invoke(app, ["run", "--help"])
    assert res.exit_code == 0
    assert "raftbench run --preset standard" in res.output and "--resume" in res.output


def test_env_json_describes_the_machine() -> None:
    res = CliRunner().invoke(app, ["env", "--json"])
    assert res.exit_code == 0
    info = json.loads(res.output)
    assert info["machine"]["cores_logical"] >= 1 and info["python"].count(".") == 2
    assert "scipy" in info["packages"] and "commit" in info["git"]


def test_runs_lists_stored_runs(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE_RUN, tmp_path / "20250101-000000-quick")
    (tmp_path / "not-a-run").mkdir()
    res = CliRunner().invoke(app, ["runs", "--results-dir", str(tmp_path)])
    assert res.exit_code == 0
    assert "20250101-000000-quick" in res.output and "not-a-run" not in res.output
    empty = CliRunner().invoke(app, ["runs", "--results-dir", str(tmp_path / "none")])
    assert empty.exit_code == 0 and "no runs" in empty.output
