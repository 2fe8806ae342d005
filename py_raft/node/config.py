"""config: the node's command line (docs/deploy.md, "Command line").

Bad input exits with status 2 and one line naming the flag or scenario field.
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from py_raft.cli import Parser, fail
from py_raft.scenario import Scenario, ScenarioError, scenario_from_dict

RUNTIMES = ("asyncio", "threads")
STORAGES = ("memory", "file")


@dataclass(frozen=True, slots=True)
class NodeConfig:
    runtime: str
    id: int
    peers: tuple[tuple[str, int], ...]
    client_port: int
    admin_port: int
    bind: str
    sc: Scenario
    storage: str
    storage_dir: str | None
    trace: str | None
    t0_unix_us: int
    incarnation: int


def _address(text: str, i: int) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        fail(f"--peers: entry {i} {text!r} is not HOST:PORT")
    return host, int(port)


def _scenario(path: str | None, nodes: int) -> Scenario:
    raw: Any = {}
    if path is not None:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as e:
            fail(f"--scenario: cannot read {path}: {e.strerror}")
        except json.JSONDecodeError as e:
            fail(f"scenario: not valid JSON ({e.msg} at line {e.lineno})")
        if not isinstance(raw, dict):
            fail("scenario: must be a JSON object")
        if raw.get("nodes", nodes) != nodes:
            fail(f"nodes: the scenario has {raw['nodes']!r}, --peers has {nodes}")
    # The node runs its own storage from the flags; the scenario's is the launcher's.
    raw = {k: v for k, v in raw.items() if k not in ("storage", "storage_dir")}
    try:
        return scenario_from_dict({**raw, "nodes": nodes})
    except ScenarioError as e:
        fail(str(e))


def parse(argv: list[str]) -> NodeConfig:
    p = Parser(prog="python -m py_raft node", description="Run one Raft node over TCP.")
    p.add_argument("--runtime", required=True, choices=RUNTIMES)
    p.add_argument("--id", required=True, type=int)
    p.add_argument("--peers", required=True, help="HOST:PORT,... (index = node id)")
    p.add_argument("--client-port", required=True, type=int)
    p.add_argument("--admin-port", type=int, default=0)
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--scenario")
    p.add_argument("--storage", default="memory", choices=STORAGES)
    p.add_argument("--storage-dir")
    p.add_argument("--trace")
    p.add_argument("--t0-unix-us", type=int)
    p.add_argument("--incarnation", type=int, default=0)
    a = p.parse_args(argv)
    peers = tuple(_address(t, i) for i, t in enumerate(a.peers.split(",")))
    if not 0 <= a.id < len(peers):
        fail(f"--id: {a.id} is not an index into --peers (0..{len(peers) - 1})")
    for flag in ("client_port", "admin_port"):
        if not 0 <= getattr(a, flag) < 65536:
            fail(f"--{flag.replace('_', '-')}: not a port")
    if a.incarnation < 0:
        fail("--incarnation: must be >= 0")
    if (a.storage == "file") != (a.storage_dir is not None):
        fail("--storage-dir: required with --storage file, and only with it")
    t0 = a.t0_unix_us if a.t0_unix_us is not None else time.time_ns() // 1000
    return NodeConfig(a.runtime, a.id, peers, a.client_port, a.admin_port, a.bind,
                      _scenario(a.scenario, len(peers)), a.storage, a.storage_dir, a.trace,
                      t0, a.incarnation)
