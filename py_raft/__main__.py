"""The py_raft driver: one scenario in, one result out (docs/protocol.md).

    python -m py_raft --runtime threads|asyncio|sim [--loop asyncio|uvloop]
                      --scenario FILE|- [--trace FILE]
    python -m py_raft node --runtime asyncio|threads --id I --peers H:P,... ...
                      (one node over TCP: docs/deploy.md)
"""

import argparse
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any, NoReturn

from py_raft.scenario import Scenario, ScenarioError, parse_scenario

RUNTIMES = ("threads", "asyncio", "sim")
LOOPS = ("asyncio", "uvloop")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(2)


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = _Parser(prog="python -m py_raft", description="Run one Raft trial.")
    p.add_argument("--runtime", required=True, choices=RUNTIMES)
    p.add_argument("--loop", default="asyncio", choices=LOOPS,
                   help="event loop for --runtime asyncio")
    p.add_argument("--scenario", required=True, help="scenario JSON file, or - for stdin")
    p.add_argument("--trace", help="write the JSON-lines trace here")
    return p.parse_args(argv)


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    raise SystemExit(2)


def _read_scenario(path: str) -> Scenario:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as e:
        _fail(f"--scenario: cannot read {path}: {e.strerror}")
    try:
        sc = parse_scenario(text)
    except ScenarioError as e:
        _fail(str(e))
    if sc.transport != "inproc":
        _fail('transport: "tcp" runs only under raftbench cluster (docs/deploy.md)')
    where = sc.storage_dir
    if where is not None and not (os.path.isdir(where) and os.access(where, os.W_OK)):
        _fail(f"storage_dir: {where} is not a directory this driver can write in")
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
                _fail(f"--trace: cannot write {args.trace}: {e.strerror}")
        try:
            result = run(args.runtime, sc, trace, args.loop)
        except ScenarioError as e:  # the storage directory could not be made after all
            stack.close()
            if args.trace:
                Path(args.trace).unlink(missing_ok=True)
            _fail(str(e))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
