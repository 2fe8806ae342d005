"""Overload is bounded: full inboxes drop and count, and the driver's own watchdog
ends a trial past memory_limit_mb or timeout_ms (docs/benchmarking.md)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from py_raft.core import Config, MemoryStorage, Raft, SplitMix64
from py_raft.scenario import parse_scenario

ROOT = Path(__file__).resolve().parent.parent
REAL = [["--runtime", "threads"], ["--runtime", "asyncio"]]


def _driver(args: list[str], scenario: dict, timeout: float = 60) -> dict:
    proc = subprocess.run([sys.executable, "-m", "py_raft", *args, "--scenario", "-"],
                          input=json.dumps(scenario), capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("args", REAL, ids=["threads", "asyncio"])
def test_a_full_inbox_drops_and_counts(args: list[str]) -> None:
    # An inbox of one message cannot hold a round of 8 vote replies at once.
    sc = {"kind": "election", "nodes": 9, "observe_ms": 200, "inbox_capacity": 1,
          "network": {"latency_ms": 1, "jitter_ms": 0}, "timeout_ms": 20_000}
    res = _driver(args, sc)
    assert res["metrics"]["inbox_dropped"] > 0, res["metrics"]


@pytest.mark.parametrize("args", REAL, ids=["threads", "asyncio"])
def test_memory_limit_ends_the_trial_as_a_recorded_failure(args: list[str]) -> None:
    res = _driver(args, {"kind": "election", "nodes": 3, "observe_ms": 30_000,
                         "memory_limit_mb": 1})
    assert res["ok"] is False
    assert res["error"].startswith("memory: peak resident set"), res["error"]
    assert res["metrics"]["elapsed_ms"] < 30_000


WEDGED = """
import sys, threading
from py_raft.scenario import parse_scenario
from py_raft.realtime import RealTimeCluster

class Wedged(RealTimeCluster):
    # A runtime that never comes back and ignores the request to stop.
    def execute(self): threading.Event().wait()
    def request_stop(self): pass

sc = parse_scenario('{"timeout_ms": 200}')
print(Wedged(sc, None, None, None).result("wedged"))
"""


def test_watchdog_prints_the_result_of_a_runtime_that_never_stops() -> None:
    proc = subprocess.run([sys.executable, "-c", WEDGED], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["impl"] == "wedged" and res["ok"] is False
    assert res["error"].startswith("timeout: scenario did not finish"), res["error"]


def test_first_election_timeout_comes_from_its_own_range_once() -> None:
    cfg = Config(150_000, 300_000, 50_000, 64, 5_000_000, 5_000_000)
    core = Raft(0, range(3), MemoryStorage(), cfg, SplitMix64(7), now=1_000)
    assert core.election_deadline == 1_000 + 5_000_000
    core.tick(core.election_deadline)  # becomes candidate: the next draw is normal
    assert 150_000 <= core.election_deadline - 5_001_000 <= 300_000


def test_without_a_first_range_the_draws_are_unchanged() -> None:
    plain = Raft(0, range(3), MemoryStorage(), Config(150_000, 300_000, 50_000),
                 SplitMix64(7), now=0)
    widened = Raft(0, range(3), MemoryStorage(), Config(150_000, 300_000, 50_000, 64, 0, 0),
                   SplitMix64(7), now=0)
    assert plain.election_deadline == widened.election_deadline


def test_new_scenario_fields_default_and_round_trip() -> None:
    sc = parse_scenario("{}")
    out = sc.to_json()
    assert out["first_election_timeout_ms"] is None
    assert out["inbox_capacity"] == 0 and sc.inbox_limit() == max(1024, 2 * sc.nodes)
    assert out["memory_limit_mb"] == 3072.0
    big = parse_scenario('{"nodes": 5000, "first_election_timeout_ms": [150, 100150]}')
    assert big.inbox_limit() == 10_000
    assert big.to_json()["first_election_timeout_ms"] == [150.0, 100150.0]
    assert parse_scenario('{"inbox_capacity": 7}').inbox_limit() == 7


def test_simulator_heartbeat_gaps_are_the_heartbeat_interval() -> None:
    res = _driver(["--runtime", "sim"], {"kind": "election", "nodes": 5,
                                         "observe_ms": 1000})
    gap = res["metrics"]["heartbeat_gap_ms"]
    assert gap["count"] >= 4 * 15
    assert 49 <= gap["p50"] <= 51 and gap["max"] <= 51  # 50 ms, give or take 1 ms of jitter
    assert res["metrics"]["inbox_dropped"] == 0
