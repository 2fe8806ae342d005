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


def load_records(path: Path) -> list[dict[str, Any]]:
    """load_records reads results.jsonl; a torn last line (killed mid-write) is ignored."""
    check_run_dir(path)
    lines = (path / RESULTS).read_text(encoding="utf-8").splitlines()
    out = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as e:
            if i == len(lines) - 1:
                break
            raise StoreError(f"{path / RESULTS}:{i + 1}: not JSON") from e
        if rec.get("format") != FORMAT_VERSION:
            raise StoreError(f"{path / RESULTS}:{i + 1}: format {rec.get('format')}")
        out.append(rec)
    return out


def key_of(record: dict[str, Any]) -> TrialKey:
    return TrialKey(**record["key"])


def repair(path: Path) -> None:
    """repair drops a torn last line (a kill mid-write) before a resumed run appends."""
    f = path / RESULTS
    data = f.read_bytes()
    if data and not data.endswith(b"\n"):
        f.write_bytes(data[: data.rfind(b"\n") + 1])


def is_stable(record: dict[str, Any]) -> bool:
    """is_stable: the trial held one leader throughout (the `scale` criterion)."""
    res = record.get("result") or {}
    changes = (res.get("metrics") or {}).get("term_changes_after_leader")
    return bool(record.get("ok")) and changes == 0
