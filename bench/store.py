"""Store: run directories and their files, raw values only.

    results/<timestamp>-<preset>/
        run.json        the RunConfig (what --resume repeats) and format version
        env.json        the machine and software (bench.envinfo)
        results.jsonl   one line per trial, appended and flushed as soon as it ends
        summary.csv, charts/, report.html   derived; `raftbench report` remakes them

A results line keeps the driver's whole result plus the outside measurements, so
any statistic can be recomputed later (as pyperf keeps values, not aggregates).
"""

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import FORMAT_VERSION, __version__
from bench.measure import Outcome
from bench.plan import Trial, TrialKey
from bench.presets import RunConfig

RESULTS = "results.jsonl"
RUN = "run.json"
ENV = "env.json"


class StoreError(Exception):
    """StoreError is a run directory that cannot be read; the message is one line."""


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def new_run_dir(base: Path, preset: str) -> Path:
    """new_run_dir names (does not create) a fresh run directory under base."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path, k = base / f"{stamp}-{preset}", 1
    while path.exists():
        k += 1
        path = base / f"{stamp}-{preset}-{k}"
    return path


def create_run(path: Path, cfg: RunConfig, env: dict[str, Any]) -> None:
    path.mkdir(parents=True, exist_ok=False)
    meta = {"format": FORMAT_VERSION, "raftbench": __version__, "created": now_iso(),
            "config": cfg.to_json()}
    (path / RUN).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (path / ENV).write_text(json.dumps(env, indent=2) + "\n", encoding="utf-8")
    (path / RESULTS).touch()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise StoreError(f"{path}: cannot read: {e}") from e
    if not isinstance(data, dict):
        raise StoreError(f"{path}: not a JSON object")
    return data


def check_run_dir(path: Path) -> None:
    """check_run_dir raises StoreError unless path holds a readable run."""
    if not path.is_dir():
        raise StoreError(f"RUN_DIR: {path} is not a directory")
    if not (path / RESULTS).is_file():
        raise StoreError(f"RUN_DIR: {path} has no {RESULTS}")


def load_config(path: Path) -> RunConfig:
    meta = _read_json(path / RUN)
    if meta.get("format") != FORMAT_VERSION:
        raise StoreError(f"{path / RUN}: format {meta.get('format')}, expected {FORMAT_VERSION}")
    try:
        return RunConfig.from_json(meta["config"])
    except (KeyError, TypeError) as e:
        raise StoreError(f"{path / RUN}: bad config: {e}") from e


def load_env(path: Path) -> dict[str, Any]:
    p = path / ENV
    return _read_json(p) if p.is_file() else {}


def load_meta(path: Path) -> dict[str, Any]:
    return _read_json(path / RUN)


def parse_result(stdout: str) -> dict[str, Any] | None:
    """parse_result is the driver's one-line result, or None if it printed none."""
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    if not lines:
        return None
    try:
        res = json.loads(lines[-1])
    except ValueError:
        return None
    return res if isinstance(res, dict) else None


def failure_of(outcome: Outcome, result: dict[str, Any] | None, timeout_s: float) -> str | None:
    """failure_of says why a trial failed, or None when it succeeded."""
    if outcome.over_memory:
        return f"memory: peak RSS {outcome.rss_peak_kb // 1024} MB passed the cap; killed"
    if outcome.timed_out:
        return f"timed out after {timeout_s:g} s; killed"
    if outcome.exit_code != 0:
        return f"driver exited with status {outcome.exit_code}"
    if result is None:
        return "driver printed no result JSON"
    if not result.get("ok"):
        return f"not ok: {result.get('error')}"
    return None


def make_record(trial: Trial, outcome: Outcome, timeout_s: float) -> dict[str, Any]:
    result = parse_result(outcome.stdout)
    failure = failure_of(outcome, result, timeout_s)
    return {
        "format": FORMAT_VERSION,
        "key": trial.key.to_json(),
        "warmup": trial.warmup,
        "ok": failure is None,
        "failure": failure,
        "exit_code": outcome.exit_code,
        "timed_out": outcome.timed_out,
        "stderr_tail": outcome.stderr_tail,
        "outside": outcome.outside(),
        "scenario": trial.scenario,
        "result": result,
        "finished": now_iso(),
    }


def append(path: Path, record: dict[str, Any]) -> None:
    """append adds one line and flushes it, so an interrupted run loses nothing."""
    with (path / RESULTS).open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, separators=(",", ":")) + "\n")
        f.flush()


def load_records(path: Path, warn: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """load_records reads results.jsonl, checking every record and healing what a kill
    or a second writer left.

    Every line must hold one record that bench.schema accepts; any other line raises
    StoreError with `file:line: reason` (one line), except a torn last line (killed
    mid-write, power cut: it does not parse), which is skipped. A measured trial
    stored twice (same key) counts once: the first complete record wins. warn, if
    given, hears one line about each (the CLI shows it); statistics never count a
    trial twice.
    """
    from bench import schema

    check_run_dir(path)
    f = path / RESULTS
    try:
        lines = f.read_bytes().split(b"\n")
    except OSError as e:
        raise StoreError(f"{f}: cannot read: {e.strerror}") from e
    last = _last_line(lines)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    dups = 0
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        rec, why = _parse_line(raw)
        if why is not None:
            if i == last:
                _tell(warn, f"warning: {f}:{i + 1}: torn last line skipped (killed mid-write?)")
                break
            raise StoreError(f"{f}:{i + 1}: not a JSON record ({why})")
        if (bad := schema.problem(rec)) is not None:
            raise StoreError(f"{f}:{i + 1}: {bad}")
        if not rec["warmup"]:  # warm-ups are made again on every resume
            ident = json.dumps(rec["key"], sort_keys=True)
            if ident in seen:
                dups += 1
                continue
            seen.add(ident)
        out.append(rec)
    if dups:
        _tell(warn, f"warning: {f}: {dups} duplicate trial record(s) ignored "
              "(the first record of each trial is used)")
    return out


def key_of(record: dict[str, Any]) -> TrialKey:
    return TrialKey(**record["key"])


def repair(path: Path, warn: Callable[[str], None] | None = None) -> None:
    """repair heals the end of results.jsonl before a resumed run appends to it.

    A torn last line (a kill mid-write, or the zeros a power cut can leave) is cut off,
    and a complete last record without its newline gets one, so that the next record
    starts a line of its own. Duplicates are left in place: load_records skips them.
    """
    f = path / RESULTS
    data = f.read_bytes()
    lines = data.split(b"\n")
    last = _last_line(lines)
    if last is None:
        return
    if _parse_line(lines[last])[1] is None:  # whole JSON: load_records judges the rest
        if last == len(lines) - 1:
            with f.open("ab") as fh:
                fh.write(b"\n")
        return
    with f.open("r+b") as fh:
        fh.truncate(sum(len(line) + 1 for line in lines[:last]))
    _tell(warn, f"warning: {f}:{last + 1}: torn last line removed (killed mid-write?)")


def failure_reason(record: dict[str, Any]) -> str:
    """failure_reason: why a scale trial did not hold its leader, in a few words."""
    if is_stable(record):
        return ""
    failure = record.get("failure") or ""
    if "memory" in failure:
        return "memory"
    if "no leader" in failure:
        return "no leader"
    if record.get("timed_out") or "timeout" in failure:
        return "time limit"
    if record.get("ok"):
        return "a follower timed out"
    return failure or "failed"


def is_stable(record: dict[str, Any]) -> bool:
    """is_stable: the trial held one leader throughout (the `scale` criterion)."""
    res = record.get("result") or {}
    changes = (res.get("metrics") or {}).get("term_changes_after_leader")
    return bool(record.get("ok")) and changes == 0


# Helpers of load_records and repair.


def _tell(warn: Callable[[str], None] | None, message: str) -> None:
    if warn is not None:
        warn(message)


def _last_line(lines: list[bytes]) -> int | None:
    """_last_line: the index of the last line that is not blank, or None."""
    return next((i for i in range(len(lines) - 1, -1, -1) if lines[i].strip()), None)


# Helpers of load_records and of the readers that need measured trials.


def _parse_line(raw: bytes) -> tuple[Any, str | None]:
    """_parse_line: the JSON value on one line, or None and why it does not parse."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as e:
        return None, f"not JSON: {e.msg} at column {e.colno}"


def check_measured(path: Path, records: list[dict[str, Any]]) -> None:
    """check_measured raises StoreError when records hold no measured trial (an empty
    results.jsonl, or warm-ups only): there is nothing to report or compare."""
    if not any(not r["warmup"] for r in records):
        raise StoreError(f"RUN_DIR: {path} has no measured trials")
