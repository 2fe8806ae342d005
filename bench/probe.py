"""Probe: what the regression gate measures inside one tree, with that tree's own code.

The gate (bench/gate.py) compares the baseline commit with this checkout. Both
trees answer the same questions, each in a fresh interpreter that has only its
own tree on PYTHONPATH:

    python -m bench.probe py-handle [COUNT]   # ns per message handled by a NodeHost
    python -m bench.probe workload            # the end-to-end probes' scenario JSON

So a change to py_raft's API or to the scenario format changes this file in the
same commit (mypy and tests/test_bench_check.py see that it does), and the
gate never has to know either tree's insides. A tree older than this file is
measured by bench/probe_legacy.py instead.
"""

import json
import sys
import time

from py_raft.core import AppendEntries, Entry, MemoryStorage, Message
from py_raft.host import NodeHost
from py_raft.recorder import Recorder
from py_raft.scenario import scenario_from_dict

# The same fixed work for every end-to-end probe: small enough for a round of
# the gate to take seconds, long enough (1,000 commands) to average out a timer.
WORKLOAD = {"kind": "replication", "nodes": 5, "clients": 16, "commands": 1000,
            "election_timeout_ms": [50, 100], "heartbeat_ms": 20, "timeout_ms": 60_000}
HANDLED = 20_000  # messages per handling probe: about a second of Python
USAGE = "usage: python -m bench.probe py-handle [COUNT] | workload"


def _drop(src: int, dst: int, msg: Message) -> None:
    """_drop is the follower's network: its replies go nowhere."""


def follower() -> NodeHost:
    """follower: node 1 of 3 as the threads and asyncio runtimes host it, sending nowhere.

    The one place the probe builds a host, so that a change to NodeHost's
    constructor is one edit here (mypy points at it).
    """
    sc = scenario_from_dict({"nodes": 3})
    return NodeHost(1, sc, MemoryStorage(), 0, Recorder(None), _drop, 0)


def handle_ns(count: int = HANDLED) -> float:
    """handle_ns: a follower's whole handling (step, persist, send, apply) of one
    AppendEntries carrying one entry, in ns, averaged over count messages in a row."""
    host = follower()
    entries = (Entry(1, "c", "x" * 16),)
    msgs = [AppendEntries(1, 0, i, 1 if i else 0, entries, i) for i in range(count)]
    start = time.perf_counter_ns()
    for now, msg in enumerate(msgs):
        host.step(msg, now)
    return (time.perf_counter_ns() - start) / count


def main(argv: list[str]) -> int:
    if argv == ["workload"]:
        print(json.dumps(WORKLOAD))
        return 0
    if argv[:1] == ["py-handle"] and len(argv) <= 2:
        count = argv[1] if len(argv) == 2 else str(HANDLED)
        if not count.isdigit() or int(count) < 1:
            print(f"error: COUNT: a positive whole number, got {count!r}", file=sys.stderr)
            return 2
        print(handle_ns(int(count)))
        return 0
    print(f"error: {USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
