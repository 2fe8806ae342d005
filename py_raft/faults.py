"""Faults: what a scheduled fault means at the moment it comes due.

`resolve` is pure: given the fault and what the cluster looks like (who
leads, who crashed last, who is up) it returns the one thing to do. Every
runtime, the simulator included, applies faults through it, so that
"leader", waiting for a leader and skipping a no-op crash mean the same
everywhere (docs/protocol.md, "Faults").
"""

from collections.abc import Callable
from dataclasses import dataclass

from py_raft.scenario import Fault


@dataclass(frozen=True, slots=True)
class Crash:
    node: int


@dataclass(frozen=True, slots=True)
class Restart:
    node: int


@dataclass(frozen=True, slots=True)
class Partition:
    groups: list[list[int]]


@dataclass(frozen=True, slots=True)
class Heal:
    pass


class WaitForLeader:
    """WaitForLeader: the fault names the leader while none leads; it waits for the next."""


WAIT = WaitForLeader()
Action = Crash | Restart | Partition | Heal


def resolve(f: Fault, leader: int | None, last_crashed: int,
            up: Callable[[int], bool]) -> Action | WaitForLeader | None:
    """resolve turns a due fault into an action; None: it changes nothing, skip it.

    A fault that names the leader during an election waits for the next
    leader (WAIT), and the faults after it wait behind it, so a schedule
    always runs whole and in order. "leader" in a restart means the node
    crashed last.
    """
    if f.needs_leader and leader is None:
        return WAIT
    if f.action == "crash":
        node = leader if f.node == "leader" else f.node
        return Crash(node) if isinstance(node, int) and up(node) else None
    if f.action == "restart":
        node = last_crashed if f.node == "leader" else f.node
        return Restart(node) if isinstance(node, int) and node >= 0 and not up(node) else None
    if f.action == "partition":
        assert f.groups is not None
        return Partition([[n for n in (leader if m == "leader" else m for m in g)
                           if isinstance(n, int)] for g in f.groups])
    return Heal()
