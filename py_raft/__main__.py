"""The py_raft driver: one scenario in, one result out (docs/protocol.md).

    python -m py_raft --runtime threads|asyncio|sim [--loop asyncio|uvloop]
                      --scenario FILE|- [--trace FILE]
    python -m py_raft node --runtime asyncio|threads --id I --peers H:P,... ...
                      (one node over TCP: docs/deploy.md)
"""

import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from py_raft.cli import Parser, fail, read_scenario
from py_raft.scenario import Scenario, ScenarioError

RUNTIMES = ("threads", "asyncio", "sim")
LOOPS = ("asyncio", "uvloop")


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = Parser(prog="python -m py_raft", description="Run one Raft trial.")
    p.add_argument("--runtime", required=True, choices=RUNTIMES)
    p.add_argument("--loop", default="asyncio", choices=LOOPS,
                   help="event loop for --runtime asyncio")
    p.add_argument("--scenario", required=True, help="scenario JSON file, or - for stdin")
    p.add_argument("--trace", help="write the JSON-lines trace here")
    return p.parse_args(argv)


def _read_scenario(path: str) -> Scenario:
    sc = read_scenario(path)
    if sc.transport != "inproc":
        fail('transport: "tcp" runs only under raftbench cluster (docs/deploy.md)')
    return sc


def run(runtime: str, sc: Scenario, trace: Any, loop: str = "asyncio") -> dict[str, Any]:
    if runtime == "sim":
        from py_raft import sim

        return sim.run(sc, trace)
    if runtime == "threads":
        from py_raft import threads_rt

        return threads_rt.run(sc, trace)
    from py_raft import asyncio_rt

    return asyncio_rt.run(sc, trace, loop)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["node"]:  # one node of a TCP cluster (docs/deploy.md)
        from py_raft.node.main import main as node_main

        return node_main(argv[1:])
    args = _args(argv)
    sc = _read_scenario(args.scenario)
    with ExitStack() as stack:
        trace = None
        if args.trace:
            try:
                trace = stack.enter_context(open(args.trace, "w", encoding="utf-8"))
            except OSError as e:
                fail(f"--trace: cannot write {args.trace}: {e.strerror}")
        try:
            result = run(args.runtime, sc, trace, args.loop)
        except ScenarioError as e:  # the storage directory could not be made after all
            stack.close()
            if args.trace:
                Path(args.trace).unlink(missing_ok=True)
            fail(str(e))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
