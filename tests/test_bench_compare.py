"""`raftbench compare` as benchstat does it: every cell, too few trials said so,
Benjamini-Hochberg, failures as regressions, machines and settings that must match,
plain text when piped, JSON and CSV. Runs are built with the store's own functions."""

import copy
import csv
import io
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from scipy import stats as sps
from typer.testing import CliRunner

from bench import compare, store
from bench.cli import app
from bench.presets import RunConfig, preset_config

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_RUN = Path(__file__).parent / "fixtures" / "bench" / "run"
REFERENCE = ROOT / "results" / "reference"
ENV = json.loads((FIXTURE_RUN / store.ENV).read_text())

Cells = dict[tuple[str, int], list[float]]


def record(impl: str, n: int, trial: int, leader_ms: float | None, *, warmup: bool = False,
           scenario: str = "election", variant: str = "cold") -> dict[str, Any]:
    """record: one stored election trial; leader_ms None is a failed trial (a crash)."""
    ok = leader_ms is not None
    metrics = {"first_leader_ms": leader_ms, "term_changes_after_leader": 0, "elections": 1,
               "messages_sent": 12, "messages_dropped": 0}
    return {
        "format": 1, "key": {"impl": impl, "scenario": "warmup" if warmup else scenario,
                             "n": n, "variant": variant, "trial": trial},
        "warmup": warmup, "ok": ok, "failure": None if ok else "driver exited with status 1",
        "exit_code": 0 if ok else 1, "timed_out": False,
        "stderr_tail": "" if ok else "boom", "scenario": {"kind": "election", "nodes": n},
        "outside": {"wall_s": 0.4, "cpu_user_s": 0.05, "cpu_sys_s": 0.01,
                    "rss_peak_kb": 16000, "threads_peak": 5, "polls": 40,
                    "ru_maxrss_kb": 16000},
        "result": {"impl": impl, "ok": True, "error": None, "metrics": metrics,
                   "runtime": {"threads_peak": 5}} if ok else None,
        "finished": "2026-01-01T00:00:00+00:00",
    }


def make_run(root: Path, name: str, cells: Cells, *, env: dict[str, Any] | None = None,
             cfg: RunConfig | None = None, warmups: bool = True) -> Path:
    """make_run stores a run: per (impl, N), one election trial per value (None: failed)."""
    impls = list(dict.fromkeys(i for i, _ in cells))
    sizes = tuple(sorted({n for _, n in cells}))
    trials = max((len(v) for v in cells.values()), default=1)
    cfg = cfg or replace(preset_config("quick", impls), scenarios=("election",), sizes=sizes,
                         trials=trials)
    path = root / name
    store.create_run(path, cfg, env if env is not None else ENV)
    if warmups:
        for impl in impls:
            store.append(path, record(impl, 3, 0, 200.0, warmup=True))
    for (impl, n), values in cells.items():
        for t, v in enumerate(values):
            store.append(path, record(impl, n, t, v))
    return path


def invoke(*argv: str):
    return CliRunner().invoke(app, ["compare", *argv])


def as_json(base: Path, new: Path, *extra: str) -> dict[str, Any]:
    res = invoke(str(base), str(new), "--json", *extra)
    assert res.exit_code in (0, 1), res.output
    return json.loads(res.stdout)


def cell(doc: dict[str, Any], impl: str, n: int, metric: str) -> dict[str, Any]:
    found = [c for c in doc["cells"]
             if (c["impl"], c["nodes"], c["metric"]) == (impl, n, metric)]
    assert len(found) == 1, (impl, n, metric)
    return found[0]


def one_error_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), output
    return lines[0]


SAME4 = [180.0, 190.0, 200.0, 210.0]


# The smallest attainable p, and too few trials.


@pytest.mark.parametrize(("n1", "n2"), [(2, 2), (3, 3), (4, 4), (3, 4), (2, 6), (6, 6)])
def test_min_p_is_the_exact_test_of_two_samples_wholly_apart(n1: int, n2: int) -> None:
    apart = sps.mannwhitneyu(range(n1), range(100, 100 + n2), method="exact").pvalue
    assert compare.min_p(n1, n2) == pytest.approx(apart)
    assert compare.min_p(2, 2) == pytest.approx(1 / 3)


def test_two_runs_of_two_trials_say_too_few_trials(tmp_path: Path) -> None:
    base = make_run(tmp_path, "base", {("py-asyncio", 3): [180.0, 190.0]})
    new = make_run(tmp_path, "new", {("py-asyncio", 3): [400.0, 410.0]})  # twice as slow
    res = invoke(str(base), str(new))
    assert res.exit_code == 0, res.output  # nothing can be concluded, nor called a regression
    lines = res.output.splitlines()
    assert lines[1].startswith("too few trials:") and "n=2+2" in lines[1]
    assert "0.33" in lines[1]
    row = next(ln for ln in lines if "first_leader_ms" in ln)
    assert "too few trials (n=2+2)" in row and "REGRESSION" not in row
    doc = as_json(base, new)
    c = cell(doc, "py-asyncio", 3, "first_leader_ms")
    assert c["status"] == "too few trials" and c["p_adjusted"] is None
    assert c["min_p"] == pytest.approx(1 / 3) and c["ratio"] == pytest.approx(405 / 185)


# Benjamini-Hochberg.


def test_benjamini_hochberg_adjusts_the_p_values(tmp_path: Path) -> None:
    # 4 + 4 trials wholly apart: raw p = 2/70 = 0.029, but 10 metrics of the cell are
    # tested (the other 9 equal on both sides), so the adjusted p is 10 x 0.029.
    base = make_run(tmp_path, "base", {("py-asyncio", 3): SAME4})
    new = make_run(tmp_path, "new", {("py-asyncio", 3): [v + 100 for v in SAME4]})
    doc = as_json(base, new)
    assert doc["adjustment"] == "Benjamini-Hochberg"
    c = cell(doc, "py-asyncio", 3, "first_leader_ms")
    tested = [x for x in doc["cells"] if x["status"] == "tested"]
    assert c["p_value"] == pytest.approx(2 / 70) and c["p_value"] < 0.05
    assert c["p_adjusted"] == pytest.approx(2 / 70 * len(tested)) and c["p_adjusted"] > 0.05
    assert not c["significant"] and not c["regression"]
    res = invoke(str(base), str(new))
    assert res.exit_code == 0, res.output
    assert "Benjamini-Hochberg" in res.output.splitlines()[1]
    row = next(ln for ln in res.output.splitlines() if "first_leader_ms" in ln)
    assert f"~ (p={c['p_adjusted']:.2f}, n=4+4)" in row


def test_a_significant_slowdown_is_a_regression_with_its_geomean(tmp_path: Path) -> None:
    six = [180.0, 185.0, 190.0, 195.0, 200.0, 205.0]
    base = make_run(tmp_path, "base", {("py-asyncio", 3): six, ("go", 3): six})
    new = make_run(tmp_path, "new", {("py-asyncio", 3): [2 * v for v in six], ("go", 3): six})
    res = invoke(str(base), str(new))
    assert res.exit_code == 1, res.output
    row = next(ln for ln in res.output.splitlines()
               if ln.startswith("py-asyncio") and "first_leader_ms" in ln)
    assert "+100%" in row and "REGRESSION" in row
    doc = as_json(base, new)
    c = cell(doc, "py-asyncio", 3, "first_leader_ms")
    assert c["p_adjusted"] < 0.05 and c["significant"] and c["regression"]
    assert cell(doc, "go", 3, "first_leader_ms")["verdict"] == "same"
    gm = {g["impl"]: g["geomean"] for g in doc["geomean"]}
    assert gm["go"] == pytest.approx(1.0) and gm["py-asyncio"] > 1.05
    # The other way round it is an improvement; beyond a 200% threshold, no regression.
    assert invoke(str(new), str(base)).exit_code == 0
    assert invoke(str(base), str(new), "--threshold", "2").exit_code == 0


# Failures and missing cells.


def test_an_implementation_that_failed_every_trial_in_new_is_a_regression(tmp_path) -> None:
    base = make_run(tmp_path, "base", {("py-asyncio", 3): SAME4, ("py-threads", 3): SAME4,
                                       ("py-threads", 5): SAME4, ("py-asyncio", 5): SAME4})
    new = make_run(tmp_path, "new", {("py-asyncio", 3): SAME4, ("py-threads", 3): [None] * 4,
                                     ("py-threads", 5): [None] * 4, ("py-asyncio", 5): SAME4})
    res = invoke(str(base), str(new))
    assert res.exit_code == 1, res.output
    assert "py-threads: every trial failed in new (8 of 8): REGRESSION" in res.output
    rows = [ln for ln in res.output.splitlines() if ln.startswith("py-threads")]
    leader = next(ln for ln in rows if " 3 " in ln and "first_leader_ms" in ln)
    assert "failed (4/4)" in leader and "failed in new" in leader and "REGRESSION" in leader
    fails = next(ln for ln in rows if " 3 " in ln and " failures " in ln)
    assert "0/4 failed" in fails and "4/4 failed" in fails and "REGRESSION" in fails
    doc = as_json(base, new)
    assert doc["all_failed_in_new"] == {"py-threads": 8}
    assert all(c["regression"] for c in doc["cells"] if c["impl"] == "py-threads")
    assert not any(c["regression"] for c in doc["cells"] if c["impl"] == "py-asyncio")
    # Failed in BASE and fixed in NEW is a change for the better, not a regression.
    assert invoke(str(new), str(base)).exit_code == 0


def test_a_lost_cell_is_a_regression_and_an_unplanned_one_is_listed(tmp_path) -> None:
    base = make_run(tmp_path, "base", {("py-asyncio", 3): SAME4, ("py-asyncio", 5): SAME4,
                                       ("py-sim", 3): SAME4})
    # NEW planned N=3 and 5 for py-asyncio but stored only N=3 (lost N=5); it did not
    # run py-sim at all, which its settings allow.
    cfg = replace(preset_config("quick", ["py-asyncio"]), scenarios=("election",),
                  sizes=(3, 5), trials=4)
    new = make_run(tmp_path, "new", {("py-asyncio", 3): SAME4}, cfg=cfg)
    doc = as_json(base, new)
    lost = cell(doc, "py-asyncio", 5, "first_leader_ms")
    assert lost["status"] == "missing in new" and lost["regression"]
    gone = cell(doc, "py-sim", 3, "first_leader_ms")
    assert gone["status"] == "not in new run" and not gone["regression"]
    assert invoke(str(base), str(new)).exit_code == 1
    # Without the lost cell (NEW did not plan N=5) only the listing remains.
    new2 = make_run(tmp_path, "new2", {("py-asyncio", 3): SAME4})
    res = invoke(str(base), str(new2))
    assert res.exit_code == 0, res.output
    assert "not in new run" in res.output and "REGRESSION" not in res.output


@pytest.mark.parametrize("side", ["new", "base"])
def test_an_empty_run_or_warmups_only_is_refused_with_one_line(tmp_path, side: str) -> None:
    full = make_run(tmp_path, "full", {("py-asyncio", 3): SAME4})
    empty = make_run(tmp_path, "empty", {("py-asyncio", 3): []}, warmups=False)
    warm = make_run(tmp_path, "warm", {("py-asyncio", 3): []})
    for run in (empty, warm):
        argv = [str(full), str(run)] if side == "new" else [str(run), str(full)]
        res = invoke(*argv)
        assert res.exit_code == 2, res.output
        line = one_error_line(res.output)
        assert f"{run} has no measured trials" in line


def test_a_malformed_line_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    base = make_run(tmp_path, "base", {("py-asyncio", 3): SAME4})
    new = make_run(tmp_path, "new", {("py-asyncio", 3): SAME4})
    lines = (new / store.RESULTS).read_text().splitlines()
    lines[2] = "[1,2,3]"
    (new / store.RESULTS).write_text("\n".join(lines) + "\n")
    res = invoke(str(base), str(new))
    assert res.exit_code == 2, res.output
    line = one_error_line(res.output)
    assert f"{new / store.RESULTS}:3: not a JSON record: an array" in line


# Machines and settings.


def _env_with(dotted: str, value: Any) -> dict[str, Any]:
    env = copy.deepcopy(ENV)
    *parents, last = dotted.split(".")
    target = env
    for p in parents:
        target = target[p]
    target[last] = value(target[last]) if callable(value) else value
    return env


@pytest.mark.parametrize(("dotted", "value", "named"), [
    ("machine.cpu_model", "Intel Xeon", "cpu_model: AMD EPYC vs Intel Xeon"),
    ("machine.cores_logical", 16, "cores_logical: 2 vs 16"),
    ("machine.memory_bytes", lambda m: int(m * 0.9), "memory_bytes: "),
    ("python", "3.12.1", "python: 3.11.7 vs 3.12.1"),
    ("go", "go version go1.22.0 linux/amd64", "go: go version go1.26.8"),
])
def test_different_machines_are_refused_naming_the_field(tmp_path, dotted, value, named):
    base = make_run(tmp_path, "base", {("py-asyncio", 3): SAME4})
    new = make_run(tmp_path, "new", {("py-asyncio", 3): SAME4}, env=_env_with(dotted, value))
    res = invoke(str(base), str(new))
    assert res.exit_code == 2, res.output
    line = one_error_line(res.output)
    assert line.startswith("error: different machines: ") and named in line
    assert "--force" in line
    res = invoke(str(base), str(new), "--force")
    assert res.exit_code == 0, res.output
    assert named in res.stderr and "--force" in res.stderr


@pytest.mark.parametrize(("dotted", "value"), [
    ("machine.hostname", "elsewhere"), ("machine.memory_bytes", lambda m: int(m * 0.97)),
    ("git.commit", "0" * 40), ("packages.scipy", "1.99.0"),
])
def test_the_same_machine_is_accepted(tmp_path, dotted: str, value: Any) -> None:
    base = make_run(tmp_path, "base", {("py-asyncio", 3): SAME4})
    new = make_run(tmp_path, "new", {("py-asyncio", 3): SAME4}, env=_env_with(dotted, value))
    res = invoke(str(base), str(new))
    assert res.exit_code == 0, res.output


def test_different_settings_are_refused_and_listed_with_force(tmp_path: Path) -> None:
    cfg = replace(preset_config("quick", ["py-asyncio"]), scenarios=("election",), sizes=(3,),
                  trials=4)
    base = make_run(tmp_path, "base", {("py-asyncio", 3): SAME4},
                    cfg=replace(cfg, replication_ms=1000.0))
    new = make_run(tmp_path, "new", {("py-asyncio", 3): SAME4},
                   cfg=replace(cfg, replication_ms=500.0, preset="standard"))
    res = invoke(str(base), str(new))
    assert res.exit_code == 2, res.output
    line = one_error_line(res.output)
    assert line.startswith("error: different settings: ")
    assert "replication_ms: 1000 vs 500" in line and "preset: quick vs standard" in line
    res = invoke(str(base), str(new), "--force")
    assert res.exit_code == 0, res.output
    assert "replication_ms: 1000 vs 500" in res.stderr
    assert "preset: quick vs standard" in res.stderr
    assert "first_leader_ms" in res.stdout
    doc = as_json(base, new, "--force")
    assert "replication_ms: 1000 vs 500" in doc["settings_differences"]


def test_other_implementations_sizes_and_trials_are_not_different_settings(tmp_path) -> None:
    base = make_run(tmp_path, "base", {("py-asyncio", 3): SAME4, ("py-asyncio", 5): SAME4,
                                       ("go", 3): SAME4})
    new = make_run(tmp_path, "new", {("py-asyncio", 3): SAME4 + [195.0, 205.0],
                                     ("py-threads", 3): SAME4})
    res = invoke(str(base), str(new))
    assert res.exit_code == 0, res.output
    for status in ("not in new run", "only in new"):
        assert status in res.output


def test_fields_an_older_run_json_lacks_are_not_compared(tmp_path: Path) -> None:
    base = make_run(tmp_path, "base", {("py-asyncio", 3): SAME4})
    new = make_run(tmp_path, "new", {("py-asyncio", 3): SAME4},
                   cfg=replace(store.load_config(base), capacity_ms=2000.0, saturated_batch=64))
    assert invoke(str(base), str(new)).exit_code == 2  # both have them: they differ
    meta = json.loads((base / store.RUN).read_text())
    for k in ("capacity_ms", "saturated_batch"):  # as an older raftbench wrote it
        del meta["config"][k]
    (base / store.RUN).write_text(json.dumps(meta))
    res = invoke(str(base), str(new))
    assert res.exit_code == 0, res.output


def test_the_reference_run_compares_with_a_standard_run_on_its_machine(tmp_path) -> None:
    # results/reference was made by an older raftbench with the standard preset: the
    # settings added since take their defaults and are not compared.
    ref_env = json.loads((REFERENCE / store.ENV).read_text())
    ref_meta = store.load_meta(REFERENCE)
    cfg = replace(preset_config("standard", ["go"]), scenarios=("election",), sizes=(3,))
    assert compare.settings_differences(ref_meta, {"config": cfg.to_json()}) == []
    new = tmp_path / "new"
    store.create_run(new, cfg, {**ref_env, "machine": {**ref_env["machine"], "hostname": "x"}})
    for rec in store.load_records(REFERENCE):
        k = rec["key"]
        if (k["impl"], k["scenario"], k["n"]) == ("go", "election", 3) and not rec["warmup"]:
            store.append(new, rec)
    res = invoke(str(REFERENCE), str(new))
    assert res.exit_code == 0, res.output
    assert "different" not in res.output
    row = next(ln for ln in res.stdout.splitlines()
               if ln.startswith("go ") and " election " in ln and "first_leader_ms" in ln
               and " 3 " in ln)
    assert "~ (p=1, n=5+5)" in row


# Output.


def test_piped_output_is_plain_text_with_every_cell_on_one_line(tmp_path: Path) -> None:
    cells: Cells = {(impl, n): SAME4 for impl in ("py-asyncio-uvloop", "py-threads")
                    for n in (3, 5, 9, 17, 33, 65, 129, 257, 513, 1025)}
    base = make_run(tmp_path, "base-with-a-rather-long-directory-name", cells)
    new = make_run(tmp_path, "new-with-a-rather-long-directory-name",
                   {k: [v + 1 for v in vals] for k, vals in cells.items()})
    res = invoke(str(base), str(new))
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "…" not in out and "\x1b[" not in out and "─" not in out
    assert str(base) in out and str(new) in out  # paths whole
    doc = as_json(base, new)
    rows = [ln for ln in out.splitlines() if ln.startswith(("py-asyncio-uvloop ", "py-threads "))]
    assert len(rows) == len(doc["cells"])
    assert max(len(ln) for ln in out.splitlines()) > 120  # long lines stay long


def test_json_and_csv_hold_every_cell_with_its_fields(tmp_path: Path) -> None:
    base = make_run(tmp_path, "base", {("py-asyncio", 3): SAME4, ("py-threads", 3): SAME4})
    new = make_run(tmp_path, "new", {("py-asyncio", 3): SAME4, ("py-threads", 3): [None] * 4})
    res = invoke(str(base), str(new), "--json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["regressions"] >= 1 and doc["test"] == "two-sided Mann-Whitney U"
    for c in doc["cells"]:
        assert set(compare.COLUMNS) <= set(c)
        for v in c.values():
            assert not (isinstance(v, float) and math.isnan(v))
    res = invoke(str(base), str(new), "--csv")
    assert res.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert len(rows) == len(doc["cells"]) and list(rows[0]) == compare.COLUMNS
    res = invoke(str(base), str(new), "--csv", "--json")
    assert res.exit_code == 2 and "choose one" in one_error_line(res.output)


@pytest.mark.parametrize(("argv", "named"), [
    (["--alpha", "0"], "--alpha"), (["--alpha", "1.5"], "--alpha"),
    (["--threshold", "-1"], "--threshold"),
])
def test_bad_options_are_one_line(tmp_path: Path, argv: list[str], named: str) -> None:
    base = make_run(tmp_path, "base", {("py-asyncio", 3): SAME4})
    res = invoke(str(base), str(base), *argv)
    assert res.exit_code == 2 and named in one_error_line(res.output)


def test_the_scale_search_failing_one_step_earlier_is_not_a_regression(tmp_path) -> None:
    # The scale search ends on a failure by design and its last N moves between runs.
    cfg = replace(preset_config("quick", ["go"]), scenarios=("scale",), sizes=(3,))
    runs = []
    for name, held_at_768 in (("base", True), ("new", False)):
        path = tmp_path / name
        store.create_run(path, cfg, ENV)
        for n in (384, 768):
            ok = n == 384 or held_at_768
            store.append(path, record("go", n, 0, 170.0 if ok else None, scenario="scale",
                                      variant="hold-0.5s"))
        runs.append(path)
    res = invoke(str(runs[0]), str(runs[1]))
    assert res.exit_code == 0, res.output
    assert "0 regression(s)" in res.output
