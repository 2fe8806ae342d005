"""Trace checker: judges any implementation's trace (docs/protocol.md, "Trace").

It reads only the trace, so it holds every driver, Python or Go, to the same
rules, which follow the safety properties of Figure 3 of the Raft paper:

* Election Safety: at most one leader per term;
* State Machine Safety: every index is applied with the same term and cmd on every node,
  and every state machine image taken (`snapshot`) or installed (`install`) at one index
  has the same digest;
* each node applies indices in order without gaps (a restarted node starts again at 1,
  or after the index of the snapshot it installs); an `install` jumps forward, never
  back, and a node takes a `snapshot` exactly at the index it has applied up to;
* every acknowledged cmd is applied at its acknowledged index (no acked command is lost).
"""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.leader_of: dict[int, int] = {}
        self.applied: dict[int, tuple[int, Any]] = {}
        self.last_applied: dict[int, int] = {}
        self.acks: dict[str, int] = {}
        self.digests: dict[int, str] = {}

    def event(self, ev: dict[str, Any], where: str) -> None:
        kind = ev.get("event")
        if kind == "state" and ev.get("state") == "leader":
            self._leader(ev, where)
        elif kind == "apply":
            self._apply(ev, where)
        elif kind == "ack":
            self._ack(ev, where)
        elif kind == "snapshot":
            self._snapshot(ev, where)
        elif kind == "install":
            self._install(ev, where)
        elif kind in ("restart", "crash"):
            self.last_applied[ev["node"]] = 0

    def _leader(self, ev: dict[str, Any], where: str) -> None:
        term, node = ev["term"], ev["node"]
        other = self.leader_of.setdefault(term, node)
        if other != node:
            self.problems.append(f"{where}: election safety: nodes {other} and {node} "
                                 f"both lead term {term}")

    def _apply(self, ev: dict[str, Any], where: str) -> None:
        node, index = ev["node"], ev["index"]
        expected = self.last_applied.get(node, 0) + 1
        if index != expected:
            self.problems.append(f"{where}: node {node} applied index {index}, "
                                 f"expected {expected} (gap or reorder)")
        self.last_applied[node] = index
        entry = (ev["term"], ev["cmd"])
        seen = self.applied.setdefault(index, entry)
        if seen != entry:
            self.problems.append(f"{where}: state machine safety: index {index} applied as "
                                 f"{list(seen)} and {list(entry)} (node {node})")

    def _snapshot(self, ev: dict[str, Any], where: str) -> None:
        node, index = ev["node"], ev["index"]
        applied = self.last_applied.get(node, 0)
        if index != applied:
            self.problems.append(f"{where}: node {node} took a snapshot at index {index} "
                                 f"with its state machine at {applied}")
        self._digest(ev, where)

    def _install(self, ev: dict[str, Any], where: str) -> None:
        node, index = ev["node"], ev["index"]
        applied = self.last_applied.get(node, 0)
        if index <= applied:
            self.problems.append(f"{where}: node {node} installed a snapshot at index {index} "
                                 f"over its state machine at {applied} (not forward)")
        self.last_applied[node] = index
        self._digest(ev, where)

    def _digest(self, ev: dict[str, Any], where: str) -> None:
        index, digest = ev["index"], ev["digest"]
        seen = self.digests.setdefault(index, digest)
        if seen != digest:
            self.problems.append(f"{where}: state machine safety: images at index {index} "
                                 f"differ ({seen} and {digest}, node {ev['node']})")

    def _ack(self, ev: dict[str, Any], where: str) -> None:
        self.acks[ev["cmd"]] = ev["index"]
        seen = self.applied.get(ev["index"])
        if seen is None or seen[1] != ev["cmd"]:
            self.problems.append(f"{where}: cmd {ev['cmd']} acked at index {ev['index']} "
                                 f"before any node applied it there")

    def finish(self) -> None:
        for cmd, index in self.acks.items():
            seen = self.applied.get(index)
            if seen is None or seen[1] != cmd:
                self.problems.append(f"acked cmd {cmd} is not applied at index {index}")


def check_trace(lines: Iterable[str]) -> list[str]:
    """check_trace returns the violations found in a trace's lines; [] when it is clean."""
    checker = _Checker()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            ev = json.loads(line)
            checker.event(ev, where)
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
            checker.problems.append(f"{where}: malformed event ({e!r})")
    checker.finish()
    return checker.problems


def check_trace_file(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return check_trace(f)
