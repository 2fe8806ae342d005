"""main: `raftbench cluster` / `python -m bench.cluster`, a driver over TCP (docs/deploy.md).

    python -m bench.cluster --scenario FILE|- [--trace FILE] [--impl IMPL]

It speaks the driver contract of docs/protocol.md: one result JSON on stdout,
and for bad input exit status 2 with one line naming the flag or field.
--impl (go-tcp, py-asyncio-tcp, py-threads-tcp, mixed-tcp) fills in the
scenario's node_impls, which is how `raftbench run` measures each.
"""

import json
import sys
from contextlib import ExitStack
from typing import Any

from bench.cluster.procs import go_node_missing
from py_raft.cli import Parser, fail, read_scenario
from py_raft.scenario import Scenario

# Each TCP implementation, as the node_impls it gives an N-node cluster.
MIXED = ("go", "go", "py-asyncio", "py-asyncio", "py-threads")
TCP_IMPLS = {
    "go-tcp": lambda n: ["go"] * n,
    "py-asyncio-tcp": lambda n: ["py-asyncio"] * n,
    "py-threads-tcp": lambda n: ["py-threads"] * n,
    "mixed-tcp": lambda n: [MIXED[i % len(MIXED)] for i in range(n)],
}


def node_impls(sc: Scenario, impl: str | None) -> list[str]:
    """node_impls: each node's server, from --impl or the scenario (default py-asyncio)."""
    if impl is not None:
        return list(TCP_IMPLS[impl](sc.nodes))
    return list(sc.node_impls or ["py-asyncio"] * sc.nodes)


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="raftbench cluster", description="Run one trial over TCP.")
    p.add_argument("--scenario", required=True, help="scenario JSON file, or - for stdin")
    p.add_argument("--trace", help="write the merged JSON-lines trace here")
    p.add_argument("--impl", choices=sorted(TCP_IMPLS), help="fill in node_impls")
    args = p.parse_args(argv)
    sc = read_scenario(args.scenario)
    impls = node_impls(sc, args.impl)
    if "go" in impls and (why := go_node_missing()):
        fail(f"node_impls: a Go node cannot run: {why}")
    result = run(sc, impls, args.trace, args.impl or "tcp")
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


def run(sc: Scenario, impls: list[str], trace: str | None, impl: str) -> dict[str, Any]:
    from bench.cluster.launcher import TcpCluster

    with ExitStack() as stack:
        out = None
        if trace:
            try:
                out = stack.enter_context(open(trace, "w", encoding="utf-8"))
            except OSError as e:
                fail(f"--trace: cannot write {trace}: {e.strerror}")
        return TcpCluster(sc, impls, out).result(impl)


if __name__ == "__main__":
    sys.exit(main())
