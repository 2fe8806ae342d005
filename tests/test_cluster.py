"""Every node its own OS process over TCP (issue 11; docs/deploy.md).

Each test checks that no node process it started outlives it. The tests that
start `goraft node` skip, saying why, when go_raft/bin/goraft lacks it.
"""

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from bench.cluster.procs import NodeProc, admin, free_ports, go_node_missing, node_argv
from bench.impls import GO_BINARY
from bench.tracecheck import check_trace_file
from py_raft.wire import VERSION, Hello, RequestVote, encode

ROOT = Path(__file__).resolve().parent.parent
LIVENESS_S = 30.0  # generous: only a cluster that never recovers fails
GO_MISSING = go_node_missing()
needs_go = pytest.mark.skipif(GO_MISSING is not None, reason=f"goraft node: {GO_MISSING}")


def _nodes() -> set[int]:
    out = set()
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or ())
        if "py_raft node" in cmd or "goraft node" in cmd:
            out.add(p.pid)
    return out


@pytest.fixture(autouse=True)
def no_leftovers() -> Iterator[None]:
    before = _nodes()
    yield
    deadline = time.monotonic() + 5
    while (left := _nodes() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"node processes left behind: {sorted(left)}"


def _cluster(tmp_path: Path, scenario: dict, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario))
    return subprocess.run([sys.executable, "-m", "bench.cluster", "--scenario", str(path),
                           *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_mixed_cluster_replicates_through_a_leader_crash_and_restart(tmp_path: Path) -> None:
    sc = {"kind": "replication", "nodes": 3, "clients": 4, "duration_ms": 1500,
          "transport": "tcp", "node_impls": ["py-asyncio", "py-threads", "py-asyncio"],
          "faults": [{"at_ms": 400, "action": "crash", "node": "leader"},
                     {"at_ms": 900, "action": "restart", "node": "leader"}]}
    trace = tmp_path / "trace.jsonl"
    run = _cluster(tmp_path, sc, "--trace", str(trace))
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["ok"], result["error"]
    assert result["metrics"]["committed"] > 0
    assert result["scenario"]["node_impls"] == sc["node_impls"]
    assert result["runtime"]["processes"] == 4  # three nodes and one restart
    assert result["runtime"]["node_storage"] == "file"
    assert check_trace_file(trace) == []
    events = [json.loads(line)["event"] for line in trace.read_text().splitlines()]
    assert "crash" in events and "restart" in events and "ack" in events


def _judged(run: subprocess.CompletedProcess[str], trace: Path) -> dict:
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["ok"], result["error"]
    assert check_trace_file(trace) == []  # no acked command lost, one leader a term, ...
    return result


@needs_go
def test_go_and_python_nodes_replicate_through_a_leader_crash_and_restart(tmp_path: Path) -> None:
    impls = ["go", "py-asyncio", "py-threads"]
    sc = {"kind": "replication", "nodes": 3, "clients": 4, "duration_ms": 1500,
          "transport": "tcp", "node_impls": impls,
          "faults": [{"at_ms": 400, "action": "crash", "node": "leader"},
                     {"at_ms": 900, "action": "restart", "node": "leader"}]}
    trace = tmp_path / "trace.jsonl"
    result = _judged(_cluster(tmp_path, sc, "--trace", str(trace)), trace)
    assert result["metrics"]["committed"] > 0
    assert result["runtime"]["node_impls"] == impls and result["runtime"]["processes"] == 4
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    applied_by = {e["node"] for e in events if e["event"] == "apply"}
    assert applied_by == {0, 1, 2}, "every implementation applies the log"


@needs_go
def test_go_nodes_fail_over_beside_python_ones(tmp_path: Path) -> None:
    sc = {"kind": "failover", "nodes": 3, "failovers": 3, "settle_ms": 100, "seed": 4,
          "transport": "tcp", "node_impls": ["go", "go", "py-asyncio"]}
    trace = tmp_path / "trace.jsonl"
    result = _judged(_cluster(tmp_path, sc, "--trace", str(trace)), trace)
    assert len(result["metrics"]["failover_ms"]) == 3


def test_failover_over_tcp(tmp_path: Path) -> None:
    sc = {"kind": "failover", "nodes": 3, "failovers": 2, "settle_ms": 100,
          "transport": "tcp", "node_impls": ["py-threads", "py-asyncio", "py-threads"]}
    run = _cluster(tmp_path, sc)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["ok"], result["error"]
    assert len(result["metrics"]["failover_ms"]) == 2


def _start(tmp_path: Path, impls: list[str]) -> tuple[list[NodeProc], list[int]]:
    n = len(impls)
    ports = free_ports(2 * n)
    peers = ",".join(f"127.0.0.1:{p}" for p in ports[:n])
    procs = [NodeProc([*node_argv(impl), "--id", str(i), "--peers", peers,
                       "--client-port", "0", "--admin-port", str(ports[n + i])],
                      tmp_path / f"node-{i}.log", ports[n + i]) for i, impl in enumerate(impls)]
    return procs, ports[:n]


def _wait(procs: list[NodeProc], ready: object) -> dict[int, dict]:
    deadline = time.monotonic() + LIVENESS_S
    while time.monotonic() < deadline:
        replies = {i: admin(p.admin_port, {"op": "stats"}) for i, p in enumerate(procs)}
        if all(replies.values()) and ready(replies):  # type: ignore[operator]
            return replies  # type: ignore[return-value]
        time.sleep(0.05)
    raise AssertionError(f"cluster not ready in {LIVENESS_S} s: {replies}")


def _send(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # the stream ends here: a cut frame reads as truncated
        s.settimeout(5)
        try:
            while s.recv(4096):  # the node closes the connection
                pass
        except OSError:
            pass


def _one_leader(replies: dict[int, dict]) -> bool:
    return sum(r["role"] == "leader" for r in replies.values()) == 1


@pytest.mark.parametrize("runtime",
                         ["py-asyncio", "py-threads", pytest.param("go", marks=needs_go)])
def test_bad_frames_garbage_and_unknown_ids_are_counted_and_survived(
        tmp_path: Path, runtime: str) -> None:
    procs, peer_ports = _start(tmp_path, [runtime, "py-asyncio", "go" if GO_MISSING is None
                                          else "py-threads"])
    try:
        _wait(procs, _one_leader)
        target = peer_ports[0]
        _send(target, encode(Hello(VERSION, 7)))  # no node 7 in a 3-node cluster
        _send(target, b"\x17garbage from a peer that is no peer at all\xff" * 4)
        _send(target, encode(Hello(VERSION, 1)) + b"\x00\x00\x00\x01\xc1")  # a malformed body
        _send(target, encode(Hello(VERSION, 2)) + encode(RequestVote(1, 2, 0, 0))[:5])
        replies = _wait(procs, lambda r: _one_leader(r) and r[0]["stats"]["truncated"] == 1)
        stats = replies[0]["stats"]
        assert stats["unknown_id"] == 1
        assert stats["malformed"] == 1
        assert stats["bad_hello"] + stats["oversized"] == 1  # the garbage, whichever it reads as
        for p in procs:
            assert p.popen.poll() is None, "a node died"
    finally:
        for p in procs:
            p.terminate()
            p.join()
    assert [p.popen.returncode for p in procs] == [0, 0, 0]  # SIGTERM is a clean exit
    assert "stats {" in (tmp_path / "node-0.log").read_text().splitlines()[-1]


@pytest.mark.parametrize("scenario, field", [
    ({"transport": "udp"}, "transport"),
    ({"transport": "tcp", "nodes": 3, "node_impls": ["py-asyncio"]}, "node_impls"),
    ({"transport": "tcp", "nodes": 1, "node_impls": ["erlang"]}, "node_impls"),
    ({"node_impls": ["py-asyncio"] * 5}, "node_impls"),
])
def test_bad_scenario_fields_exit_2_with_one_line(tmp_path: Path, scenario: dict,
                                                  field: str) -> None:
    run = _cluster(tmp_path, scenario)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and run.stderr.startswith(f"error: {field}:")


@pytest.mark.parametrize("driver", [
    [sys.executable, "-m", "py_raft", "--runtime", "threads"],
    pytest.param([str(GO_BINARY), "--runtime", "goroutines"], marks=needs_go),
])
def test_a_driver_refuses_transport_tcp(tmp_path: Path, driver: list[str]) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"transport": "tcp"}')
    run = subprocess.run([*driver, "--scenario", str(path)], capture_output=True, text=True,
                         cwd=ROOT)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith("error: transport:") and run.stderr.count("\n") == 1


@pytest.mark.parametrize("impl", ["py-asyncio", pytest.param("go", marks=needs_go)])
@pytest.mark.parametrize("args, flag", [
    (["--id", "3", "--peers", "127.0.0.1:1,127.0.0.1:2", "--client-port", "0"], "--id"),
    (["--id", "0", "--peers", "nohost", "--client-port", "0"], "--peers"),
    (["--id", "0", "--peers", "127.0.0.1:1", "--client-port", "0", "--storage", "file"],
     "--storage-dir"),
    (["--id", "0", "--peers", "127.0.0.1:1", "--client-port", "0", "--bogus"], "-bogus"),
    (["--peers", "127.0.0.1:1", "--client-port", "0"], "--id"),
])
def test_bad_node_flags_exit_2_with_one_line(args: list[str], flag: str, impl: str) -> None:
    run = subprocess.run([*node_argv(impl), *args], capture_output=True, text=True,
                         cwd=ROOT, timeout=30)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and flag in run.stderr


def test_bad_launcher_flags_exit_2_with_one_line(tmp_path: Path) -> None:
    run = _cluster(tmp_path, {}, "--impl", "cobol-tcp")
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "--impl" in run.stderr


MIXED_5 = ["go", "go", "py-asyncio", "py-asyncio", "py-threads"]
ACCEPTANCE = {
    "election": {"kind": "election"},
    "replication": {"kind": "replication", "clients": 8, "duration_ms": 2000},
    "failover": {"kind": "failover", "failovers": 5, "settle_ms": 200},
    "partition": {"kind": "replication", "seed": 3, "clients": 8, "duration_ms": 2500,
                  "network": {"drop_rate": 0.05}, "client_timeout_ms": 300,
                  "faults": [{"at_ms": 500, "action": "partition", "groups": [["leader"]]},
                             {"at_ms": 1000, "action": "heal"},
                             {"at_ms": 1300, "action": "crash", "node": "leader"},
                             {"at_ms": 1700, "action": "restart", "node": "leader"}]},
}


@pytest.mark.slow
@needs_go
@pytest.mark.parametrize("name", ACCEPTANCE)
def test_issue_11_acceptance_five_mixed_nodes(tmp_path: Path, name: str) -> None:
    """Issue 11's Done-when: 2 Go, 2 asyncio, 1 threads node, each run judged by tracecheck."""
    sc = {**ACCEPTANCE[name], "nodes": 5, "transport": "tcp", "node_impls": MIXED_5}
    trace = tmp_path / "trace.jsonl"
    result = _judged(_cluster(tmp_path, sc, "--trace", str(trace)), trace)
    metrics = result["metrics"]
    assert metrics["first_leader_ms"] is not None
    if name == "failover":
        assert len(metrics["failover_ms"]) == 5
    if sc["kind"] == "replication":
        assert metrics["committed"] > 0
    if name == "partition":
        assert metrics["messages_dropped"] > 0
        events = [json.loads(line)["event"] for line in trace.read_text().splitlines()]
        assert {"partition", "heal", "crash", "restart"} <= set(events)


def test_a_load_run_against_a_running_cluster(tmp_path: Path) -> None:
    """raftbench load needs only the nodes' client addresses (docs/deploy.md)."""
    n = 3
    ports = free_ports(3 * n)
    peers = ",".join(f"127.0.0.1:{p}" for p in ports[:n])
    procs = [NodeProc([*node_argv(impl), "--id", str(i), "--peers", peers,
                       "--client-port", str(ports[n + i]), "--admin-port", str(ports[2 * n + i])],
                      tmp_path / f"node-{i}.log", ports[2 * n + i])
             for i, impl in enumerate(["py-asyncio", "py-threads", "py-asyncio"])]
    try:
        _wait(procs, _one_leader)
        nodes = ",".join(f"127.0.0.1:{p}" for p in ports[n:2 * n])
        run = subprocess.run([sys.executable, "-m", "bench.cluster.load", "--nodes", nodes,
                              "--clients", "4", "--duration-ms", "800"],
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert run.returncode == 0, run.stderr
        out = json.loads(run.stdout)
        assert out["committed"] > 0 and out["commit_latency_ms"]["p50"] > 0
    finally:
        for p in procs:
            p.terminate()
            p.join()


@pytest.mark.parametrize("args, flag", [
    (["--nodes", "localhost"], "--nodes"),
    (["--nodes", "127.0.0.1:1", "--clients", "0"], "--clients"),
    ([], "the following arguments are required: --nodes"),
])
def test_bad_load_flags_exit_2_with_one_line(args: list[str], flag: str) -> None:
    run = subprocess.run([sys.executable, "-m", "bench.cluster.load", *args],
                         capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert run.returncode == 2 and run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and flag in lines[0]
