"""Records are checked as they are read: a bad results.jsonl line is one error naming
`file:line` and why (exit 2 in the CLI), `runs` lists a broken run with its reason,
and a torn last line is still only a warning."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from test_bench_compare import make_run, record
from typer.testing import CliRunner

from bench import schema, store
from bench.cli import app

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_RUN = Path(__file__).parent / "fixtures" / "bench" / "run"


def without(rec: dict[str, Any], dotted: str) -> dict[str, Any]:
    *parents, last = dotted.split(".")
    target = rec
    for p in parents:
        target = target[p]
    del target[last]
    return rec


def setting(rec: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *parents, last = dotted.split(".")
    target = rec
    for p in parents:
        target = target[p]
    target[last] = value
    return rec


def good() -> dict[str, Any]:
    return record("py-asyncio", 3, 9, 180.0)


BAD: list[tuple[str, str]] = [
    ("not json at all", "not a JSON record (not JSON: Expecting value at column 1)"),
    ('{"format":1,"key":', "not a JSON record (not JSON: Expecting value at column 19)"),
    ("[1,2,3]", "not a JSON record: an array, expected an object"),
    ('"a string"', "not a JSON record: a string, expected an object"),
    ("42", "not a JSON record: a number, expected an object"),
    (json.dumps(setting(good(), "format", 2)), "format 2, expected 1"),
    (json.dumps(without(good(), "key")), "bad record: no 'key'"),
    (json.dumps(without(good(), "outside")), "bad record: no 'outside'"),
    (json.dumps(without(good(), "ok")), "bad record: no 'ok'"),
    (json.dumps(without(good(), "warmup")), "bad record: no 'warmup'"),
    (json.dumps(without(good(), "result")), "bad record: no 'result'"),
    (json.dumps(setting(good(), "ok", "yes")), "bad record: 'ok' is a string, expected true "
     "or false"),
    (json.dumps(setting(good(), "warmup", 0)), "bad record: 'warmup' is a number, expected "
     "true or false"),
    (json.dumps(setting(good(), "key", [1])), "bad record: 'key' is an array, expected an "
     "object"),
    (json.dumps(setting(good(), "key.n", "3")), "bad record: 'key.n' is a string, expected "
     "an integer"),
    (json.dumps(setting(good(), "key.n", 0)), "bad record: key.n 0, key.trial 9 out of range"),
    (json.dumps(without(good(), "key.impl")), "bad record: no 'key.impl'"),
    (json.dumps(setting(good(), "key.colour", "red")), "bad record: unknown field 'key.colour'"),
    (json.dumps(setting(good(), "outside.wall_s", None)), "bad record: 'outside.wall_s' is "
     "null, expected a number"),
    (json.dumps(without(good(), "outside.rss_peak_kb")), "bad record: no "
     "'outside.rss_peak_kb'"),
    (json.dumps(setting(good(), "result", [])), "bad record: 'result' is an array, expected "
     "an object or null"),
    (json.dumps(setting(good(), "result", None)), "bad record: 'result' is null in a trial "
     "that succeeded"),
    (json.dumps(without(good(), "result.metrics")), "bad record: no 'result.metrics'"),
    (json.dumps(without(good(), "result.metrics.first_leader_ms")),
     "bad record: no 'result.metrics.first_leader_ms' (election)"),
    (json.dumps(setting(good(), "result.metrics.first_leader_ms", "fast")),
     "bad record: 'result.metrics.first_leader_ms' is a string, expected a number or null"),
    (json.dumps(setting(good(), "failure", 3)), "bad record: 'failure' is a number, expected "
     "a string or null"),
]


def write_lines(run: Path, lines: list[str]) -> None:
    (run / store.RESULTS).write_text("\n".join(lines) + "\n")


def run_with_line(tmp_path: Path, bad: str, at: int = 2) -> Path:
    """run_with_line: a small stored run whose line `at` (0-based) is bad."""
    run = make_run(tmp_path, "run", {("py-asyncio", 3): [180.0, 190.0, 200.0, 210.0]})
    lines = (run / store.RESULTS).read_text().splitlines()
    lines[at] = bad
    write_lines(run, lines)
    return run


@pytest.mark.parametrize(("line", "reason"), BAD)
def test_a_bad_line_names_its_file_line_and_reason(tmp_path, line: str, reason: str) -> None:
    run = run_with_line(tmp_path, line)
    with pytest.raises(store.StoreError) as err:
        store.load_records(run)
    assert str(err.value) == f"{run / store.RESULTS}:3: {reason}"


@pytest.mark.parametrize(("line", "reason"), [b for b in BAD if "not JSON" not in b[1]])
def test_a_whole_bad_last_line_is_an_error_not_a_torn_line(tmp_path, line, reason) -> None:
    # A torn line (cut short) does not parse; a last line that parses but is not a
    # record was written whole, and is as bad there as anywhere.
    run = run_with_line(tmp_path, line, at=-1)
    lines = (run / store.RESULTS).read_text().splitlines()
    with pytest.raises(store.StoreError, match=f":{len(lines)}: "):
        store.load_records(run, lambda m: pytest.fail(m))


def test_every_stored_record_passes_the_schema() -> None:
    for run in (FIXTURE_RUN, ROOT / "results" / "reference"):
        for line in (run / store.RESULTS).read_text().splitlines():
            assert schema.problem(json.loads(line)) is None


def test_a_failed_trial_needs_no_metrics() -> None:
    failed = record("py-asyncio", 3, 0, None)
    assert failed["result"] is None and schema.problem(failed) is None
    timed_out = setting(record("py-asyncio", 3, 0, None), "exit_code", None)
    assert schema.problem(timed_out) is None
    # A failover trial that ran into its own limit still has its failovers read.
    fo = record("py-asyncio", 3, 0, 180.0, scenario="failover", variant="150-300")
    assert "failover_ms" in str(schema.problem(fo))
    fo["result"]["metrics"]["failover_ms"] = [160.5, None]
    assert schema.problem(fo) is None
    fo |= {"ok": False}
    fo["result"]["metrics"]["failover_ms"] = ["x"]
    assert schema.problem(fo) == ("bad record: 'result.metrics.failover_ms' holds a string, "
                                  "expected numbers")


@pytest.mark.parametrize("command", ["compare", "report"])
def test_the_cli_says_one_line_and_exits_2(tmp_path: Path, command: str) -> None:
    run = run_with_line(tmp_path, "[1,2,3]")
    argv = ["compare", str(FIXTURE_RUN), str(run)] if command == "compare" else ["report",
                                                                                 str(run)]
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    assert lines[0] == (f"error: {run / store.RESULTS}:3: not a JSON record: an array, "
                        "expected an object")
    assert not (run / "report.html").exists()


def test_a_torn_last_line_is_still_only_a_warning(tmp_path: Path) -> None:
    run = make_run(tmp_path, "run", {("py-asyncio", 3): [180.0, 190.0]})
    clean = store.load_records(run)
    with (run / store.RESULTS).open("a") as f:
        f.write('{"format":1,"key":{"impl":"py-as')
    said: list[str] = []
    assert store.load_records(run, said.append) == clean
    assert len(said) == 1 and "torn last line skipped" in said[0]


def test_runs_lists_a_broken_run_with_its_reason(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE_RUN, tmp_path / "20250101-000000-quick")
    broken = tmp_path / "20250102-000000-quick"
    shutil.copytree(FIXTURE_RUN, broken)
    lines = (broken / store.RESULTS).read_text().splitlines()
    lines[6] = lines[6][: len(lines[6]) // 2]  # line 7 torn, with lines after it
    write_lines(broken, lines)
    odd = tmp_path / "20250103-000000-quick"
    shutil.copytree(FIXTURE_RUN, odd)
    (odd / store.RESULTS).unlink()
    res = CliRunner().invoke(app, ["runs", "--results-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    out = res.output.splitlines()
    ok = next(ln for ln in out if ln.startswith("20250101-000000-quick"))
    assert "broken" not in ok and "py-threads py-asyncio py-sim" in ok
    bad = next(ln for ln in out if ln.startswith("20250102-000000-quick"))
    assert "broken: results.jsonl:7: not a JSON record (not JSON: " in bad
    assert "quick" in bad and "?" in bad
    gone = next(ln for ln in out if ln.startswith("20250103-000000-quick"))
    assert "broken: RUN_DIR: " in gone and "has no results.jsonl" in gone
    assert "…" not in res.output
