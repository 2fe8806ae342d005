"""Invariants: the safety properties of Figure 3, checked by the simulator after every event.

Each check is incremental, fed by what the event changed, so that a check
after every event stays cheap enough for 100,000 randomized runs.
"""

from py_raft.core.messages import Entry


class SafetyViolation(AssertionError):
    """SafetyViolation is a broken Figure 3 property; the simulator stops on it."""


class Invariants:
    def __init__(self) -> None:
        self.leader_by_term: dict[int, int] = {}
        # Log Matching, via a hash chain: equal (index, term) must mean equal prefixes.
        self._chains: dict[int, list[int]] = {}
        self._chain_at: dict[tuple[int, int], int] = {}
        self.committed: dict[int, Entry] = {}

    def on_log(self, node: int, log_from: int, log: list[Entry]) -> None:
        """on_log checks Log Matching for entries log_from.. of node's persisted log."""
        chain = self._chains.setdefault(node, [])
        del chain[log_from - 1 :]
        h = chain[-1] if chain else 0
        for index in range(log_from, len(log) + 1):
            e = log[index - 1]
            h = hash((h, e.term, e.cmd, e.payload))
            chain.append(h)
            seen = self._chain_at.setdefault((index, e.term), h)
            if seen != h:
                raise SafetyViolation(
                    f"log matching: node {node} index {index} term {e.term} has another prefix"
                )

    def on_restart(self, node: int, log: list[Entry]) -> None:
        self._chains.pop(node, None)
        if log:
            self.on_log(node, 1, log)

    def on_leader(self, node: int, term: int, log: list[Entry]) -> None:
        """on_leader checks Election Safety and Leader Completeness (5.4)."""
        other = self.leader_by_term.setdefault(term, node)
        if other != node:
            raise SafetyViolation(f"election safety: nodes {other} and {node} lead term {term}")
        for index, entry in self.committed.items():
            if index > len(log) or log[index - 1] != entry:
                raise SafetyViolation(
                    f"leader completeness: leader {node} of term {term} lacks index {index}"
                )

    def on_apply(self, node: int, index: int, entry: Entry) -> None:
        """on_apply checks State Machine Safety: one entry per index, on every node."""
        seen = self.committed.setdefault(index, entry)
        if seen != entry:
            raise SafetyViolation(
                f"state machine safety: node {node} applied {entry} at {index}, others {seen}"
            )
