"""The anchors (docs/anchors.md) speak docs/protocol.md like our drivers: one result
line with the library's version, exit 2 and one line naming the field for what
their library cannot honour, and no process left behind."""

import json
import os
import signal
import subprocess
import time

import psutil
import pytest
from drive import ROOT

from bench.impls import ANCHORS, drivers

FAULT = {"at_ms": 100, "action": "crash", "node": 0}
# Per anchor: scenarios its library cannot honour, and the field each must name.
REFUSED = {
    "anchor-hashicorp": [
        ({"faults": [FAULT]}, "faults"),
        ({"election_timeout_ms": [150, 200]}, "election_timeout_ms"),
        ({"heartbeat_ms": 20}, "heartbeat_ms"),
        ({"first_election_timeout_ms": [150, 600]}, "first_election_timeout_ms"),
        ({"inbox_capacity": 64}, "inbox_capacity"),
        ({"max_batch_entries": 2048}, "max_batch_entries"),
        ({"snapshot_entries": 20}, "snapshot_entries"),
        ({"storage": "file"}, "storage"),
        ({"transport": "tcp"}, "transport"),
    ],
    "anchor-pysyncobj": [
        ({"faults": [FAULT]}, "faults"),
        ({"election_timeout_ms": [150, 150]}, "election_timeout_ms"),
        ({"election_timeout_ms": [100, 200]}, "heartbeat_ms"),
        ({"first_election_timeout_ms": [150, 600]}, "first_election_timeout_ms"),
        ({"inbox_capacity": 64}, "inbox_capacity"),
        ({"snapshot_entries": 20}, "snapshot_entries"),
        ({"storage": "file"}, "storage"),
        ({"transport": "tcp"}, "transport"),
    ],
}
LIBRARY = {"anchor-hashicorp": "hashicorp/raft", "anchor-pysyncobj": "pysyncobj"}


def _argv(impl: str) -> list[str]:
    driver = drivers()[impl]
    why = driver.missing()
    if why:
        pytest.skip(f"{impl}: {why} (make setup)")
    return list(driver.argv)


def _run(impl: str, scenario: dict[str, object]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_argv(impl), "--scenario", "-"], input=json.dumps(scenario),
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.mark.parametrize(("impl", "scenario", "field"),
                         [(i, s, f) for i, cases in REFUSED.items() for s, f in cases])
def test_a_field_the_library_cannot_honour_is_refused(impl: str, scenario: dict[str, object],
                                                      field: str) -> None:
    proc = _run(impl, scenario)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}: "), proc.stderr


@pytest.mark.parametrize("impl", list(ANCHORS))
def test_bad_input_is_one_line_naming_the_field(impl: str) -> None:
    for scenario, field in [({"bogus": 1}, "bogus"), ({"nodes": 0}, "nodes"),
                            ({"kind": "dance"}, "kind")]:
        proc = _run(impl, scenario)
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr.startswith(f"error: {field}: ") and proc.stderr.count("\n") == 1


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for p in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(p.info["pid"]) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p.info["pid"])
        except (ProcessLookupError, psutil.Error):
            continue
    return alive


@pytest.mark.parametrize("impl", list(ANCHORS))
def test_a_short_replication_run_is_a_valid_result_and_leaves_no_process(impl: str) -> None:
    scenario = {"kind": "replication", "nodes": 3, "clients": 2, "commands": 20}
    # A session of its own: every process the anchor starts is in its group.
    proc = subprocess.Popen([*_argv(impl), "--scenario", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, start_new_session=True)
    try:
        out, err = proc.communicate(json.dumps(scenario), timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 1
    res = json.loads(lines[0])
    assert res["impl"] == impl and res["ok"] is True, res["error"]
    m, rt = res["metrics"], res["runtime"]
    assert m["first_leader_ms"] is not None and m["committed"] >= 20
    assert m["throughput_ops_s"] > 0 and m["commit_latency_ms"]["p99"] > 0
    assert rt["cpu_trial_s"] > 0 and rt["max_rss_kb"] > 0
    assert res["versions"][LIBRARY[impl]]
    assert res["scenario"]["kind"] == "replication"
    deadline = time.monotonic() + 5
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _group_alive(proc.pid) == [], f"{impl} left processes behind"


@pytest.mark.parametrize("impl", list(ANCHORS))
def test_election_and_failover_complete(impl: str) -> None:
    res = json.loads(_run(impl, {"kind": "failover", "nodes": 3, "failovers": 2,
                                 "settle_ms": 100}).stdout)
    assert res["ok"] is True, res["error"]
    assert len(res["metrics"]["failover_ms"]) == 2
    assert all(x > 0 for x in res["metrics"]["failover_ms"])


def test_the_standard_preset_adds_each_anchor_beside_its_reference_unless_impls_are_named(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import impls, presets

    monkeypatch.setattr(impls.Driver, "missing", lambda self: None)
    defaults = impls.DefaultImpls(["go", "py-threads", "py-asyncio"])
    assert presets.preset_config("standard", defaults).impls == (
        "go", "py-threads", "py-asyncio", "anchor-hashicorp", "anchor-pysyncobj",
        "go-tcp", "py-asyncio-tcp", "py-threads-tcp", "mixed-tcp")
    assert presets.preset_config("standard", impls.DefaultImpls(["py-threads"])).impls == (
        "py-threads", "py-threads-tcp")
    assert presets.preset_config("quick", defaults).impls == ("go", "py-threads", "py-asyncio")
    assert presets.preset_config("standard", ["go"]).impls == ("go",)  # named: kept as is
    assert not any(impls.runs(a, "scale") for a in ANCHORS)
    assert all(impls.runs(a, "capacity") for a in ANCHORS)


def test_each_driver_is_set_beside_its_anchor_with_a_bootstrap_ci() -> None:
    import numpy as np
    import pandas as pd

    from bench import stats, verdict

    ours = {"go": [600.0, 610, 590, 605, 595], "py-asyncio": [100.0, 98, 102, 101, 99]}
    anchors = {"anchor-hashicorp": [500.0, 490, 510, 505, 495],
               "anchor-pysyncobj": [50.0, 49, 51, 52, 48]}
    samples = {("max_sustained_throughput", 3, i): np.array(v)
               for i, v in (ours | anchors).items()}
    recs = [{"measure": "max_sustained_throughput", "nodes": 3, "impl": i,
             "median": float(np.median(v)), "ci_low": np.nan, "ci_high": np.nan,
             "unit": "cmd/s", "bound": "runtime"} for i, v in (ours | anchors).items()]
    head = pd.DataFrame(recs, columns=verdict.HEADLINE_COLUMNS)
    head = head.astype({"nodes": "Int64"})
    rows = [r for r in verdict.verdict(head, samples) if r.python in ANCHORS]
    assert [(r.base, r.python) for r in rows] == [("go", "anchor-hashicorp"),
                                                  ("py-asyncio", "anchor-pysyncobj")]
    for r in rows:
        c = stats.compare(base=anchors[r.python], new=ours[r.base])
        assert (r.ratio, r.ci_low, r.ci_high) == (c.ratio, c.ci_low, c.ci_high)
        assert r.winner == r.base and r.sentence.startswith(f"{r.base} sustains ")
    table = verdict.table(rows)
    assert "go ÷ anchor-hashicorp" in table.columns
    assert "py-asyncio ÷ anchor-pysyncobj" in table.columns
