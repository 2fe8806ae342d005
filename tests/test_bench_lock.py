"""One writer per run directory (bench.lock), and a results.jsonl that heals on resume."""

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_bench_run import invoke, use_drivers
from typer.testing import CliRunner

from bench import analyze, store
from bench.cli import app
from bench.lock import LOCK, run_lock

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_RUN = Path(__file__).parent / "fixtures" / "bench" / "run"

# A child process that takes the lock of argv[1], says so, and sleeps until killed.
HOLDER = """
import sys, time
from pathlib import Path
from bench.lock import run_lock
with run_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(3600)
"""


@pytest.fixture
def holder() -> Iterator[Callable[[Path], subprocess.Popen[str]]]:
    """holder starts lock-holding child processes; every one is killed at teardown."""
    procs: list[subprocess.Popen[str]] = []

    def start(path: Path) -> subprocess.Popen[str]:
        p = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
        procs.append(p)
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "locked"  # blocks until the lock is held
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()
        if p.stdout is not None:
            p.stdout.close()


def small_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    use_drivers(tmp_path, monkeypatch, {"py-sim": "ok", "py-threads": "ok"})
    out = tmp_path / "run"
    res = invoke("--impl", "py-sim,py-threads", "--scenario", "election", "--sizes", "3",
                 "--trials", "2", "--out", str(out), "--no-report")
    assert res.exit_code == 0, res.output
    return out


def one_error_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), output
    return lines[0]


def test_a_held_directory_refuses_resume_and_report_in_this_process(tmp_path, monkeypatch):
    out = small_run(tmp_path, monkeypatch)
    before = (out / store.RESULTS).read_bytes()
    with run_lock(out):
        assert (out / LOCK).read_text().strip() == str(os.getpid())
        res = invoke("--resume", str(out), "--no-report")
        assert res.exit_code == 2, res.output
        line = one_error_line(res.output)
        assert f"{out} is in use by raftbench pid {os.getpid()}" in line
        res = CliRunner().invoke(app, ["report", str(out)])
        assert res.exit_code == 2, res.output
        assert "in use" in one_error_line(res.output)
    assert (out / store.RESULTS).read_bytes() == before  # nothing written
    assert not (out / "report.html").exists()
    res = invoke("--resume", str(out), "--no-report")  # released: it goes on
    assert res.exit_code == 0, res.output


def test_a_second_process_is_refused_while_a_run_holds_the_directory(
        tmp_path, monkeypatch, holder) -> None:
    out = small_run(tmp_path, monkeypatch)
    before = (out / store.RESULTS).read_bytes()
    child = holder(out)
    for argv in (["run", "--resume", str(out), "--no-report"], ["report", str(out)]):
        res = subprocess.run([sys.executable, "-m", "bench", *argv], cwd=ROOT,
                             capture_output=True, text=True, check=False)
        assert res.returncode == 2, res.stdout + res.stderr
        assert res.stdout == ""
        line = one_error_line(res.stderr)
        assert f"{out} is in use by raftbench pid {child.pid}" in line
    # A new run cannot be pointed at it either.
    res = invoke("--out", str(out), "--no-report")
    assert res.exit_code == 2, res.output
    assert (out / store.RESULTS).read_bytes() == before
    assert not (out / "report.html").exists()


def test_a_run_killed_with_sigkill_leaves_no_lock_that_blocks(
        tmp_path, monkeypatch, holder) -> None:
    out = small_run(tmp_path, monkeypatch)
    child = holder(out)
    with pytest.raises(store.StoreError, match="in use"), run_lock(out):
        pass
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    assert (out / LOCK).read_text().strip() == str(child.pid)  # the file stays behind
    with run_lock(out):
        assert (out / LOCK).read_text().strip() == str(os.getpid())
    res = invoke("--resume", str(out), "--no-report")
    assert res.exit_code == 0, res.output


def copy_fixture(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE_RUN, run)
    return run


def measured_lines(run: Path) -> list[str]:
    lines = (run / store.RESULTS).read_text().splitlines()
    return [ln for ln in lines if not json.loads(ln)["warmup"]]


def test_a_duplicated_key_counts_once_and_the_first_record_wins(tmp_path) -> None:
    run = copy_fixture(tmp_path)
    clean = store.load_records(run)
    first, second = measured_lines(run)[:2]
    for line in (first, second):
        rec = json.loads(line)
        rec["outside"]["wall_s"] = 999.0  # a later copy from a second writer
        with (run / store.RESULTS).open("a") as f:
            f.write(json.dumps(rec) + "\n")
    said: list[str] = []
    recs = store.load_records(run, said.append)
    assert recs == clean  # first record of each key kept, in place
    assert len(said) == 1 and "2 duplicate" in said[0], said
    assert store.load_records(run) == clean  # warn is optional
    keys = [store.key_of(r) for r in recs if not r["warmup"]]
    assert len(keys) == len(set(keys))
    assert analyze.values(recs).equals(analyze.values(clean))  # statistics count it once


TORN = [
    b'{"format":1,"key":{"imp',  # killed mid-write
    b"\x00" * 64,  # zeros left by a power cut
    b'{"format":1,"key":{"impl":"\xc3',  # cut inside a UTF-8 character
    b'{"format":1,"key":{"impl":"py-sim"}\n',  # torn, then a newline
]


@pytest.mark.parametrize("tail", TORN)
def test_a_truncated_last_line_is_skipped_with_a_warning(tmp_path, tail: bytes) -> None:
    run = copy_fixture(tmp_path)
    clean = store.load_records(run)
    with (run / store.RESULTS).open("ab") as f:
        f.write(tail)
    said: list[str] = []
    assert store.load_records(run, said.append) == clean
    assert len(said) == 1 and "torn last line" in said[0], said
    store.repair(run, said.append)
    assert "torn last line removed" in said[-1]
    assert (run / store.RESULTS).read_bytes() == (FIXTURE_RUN / store.RESULTS).read_bytes()


def test_a_torn_line_in_the_middle_is_still_an_error(tmp_path) -> None:
    run = copy_fixture(tmp_path)
    with (run / store.RESULTS).open("ab") as f:
        f.write(b'{"format":1,"key":{"imp\n' + measured_lines(run)[0].encode() + b"\n")
    with pytest.raises(store.StoreError, match="not a JSON record"):
        store.load_records(run)


def test_repair_keeps_a_whole_last_record_that_lacks_its_newline(tmp_path) -> None:
    run = copy_fixture(tmp_path)
    data = (run / store.RESULTS).read_bytes()
    (run / store.RESULTS).write_bytes(data.rstrip(b"\n"))
    said: list[str] = []
    store.repair(run, said.append)
    assert said == []
    assert (run / store.RESULTS).read_bytes() == data


def test_resume_heals_a_torn_line_and_duplicates_and_says_so(tmp_path, monkeypatch) -> None:
    out = small_run(tmp_path, monkeypatch)
    dup = measured_lines(out)[0]
    with (out / store.RESULTS).open("a") as f:
        f.write(dup + "\n" + dup[: len(dup) // 2])
    res = subprocess.run([sys.executable, "-m", "bench", "run", "--resume", str(out),
                          "--no-report"], cwd=ROOT, capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "torn last line removed" in res.stderr
    assert "1 duplicate trial record(s) ignored" in res.stderr
    for line in (out / store.RESULTS).read_text().splitlines():
        json.loads(line)  # the file is whole again
    keys = [store.key_of(r) for r in store.load_records(out) if not r["warmup"]]
    assert len(keys) == len(set(keys)) == 2 * 2  # impls x trials
