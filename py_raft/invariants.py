"""Invariants: the safety properties of Figure 3, checked by the simulator after every event.

Each check is incremental, fed by what the event changed, so that a check
after every event stays cheap enough for 100,000 randomized runs.

With log compaction (section 7) a node's log starts after its snapshot:
`log[0]` is index `base + 1`, where base is the core's last_included_index.
The snapshot stands for the committed prefix up to base, so

* Log Matching hashes each node's log as a chain that starts from the chain
  value of its snapshot's (index, term), the one any log that held that entry
  had there;
* Leader Completeness asks a leader for the committed entries after its
  snapshot, and that its snapshot's term be the committed entry's at base;
* State Machine Safety also compares state machine images: every image at one
  index (a node's compaction, an installed snapshot) has one digest, and a
  node that restores an image holds exactly that image afterwards.
"""

from py_raft.core.messages import Entry
from py_raft.recorder import SnapshotFloors


class SafetyViolation(AssertionError):
    """SafetyViolation is a broken Figure 3 property; the simulator stops on it."""


class _Chain:
    """_Chain: hashes[k] is the chain value at index base + k (0 at index 0)."""

    __slots__ = ("base", "hashes")

    def __init__(self, base: int, anchor: int) -> None:
        self.base = base
        self.hashes = [anchor]


class Invariants:
    def __init__(self, nodes: int = 0) -> None:
        self.leader_by_term: dict[int, int] = {}
        # Log Matching, via a hash chain: equal (index, term) must mean equal prefixes.
        self._chains: dict[int, _Chain] = {}
        self._chain_at: dict[tuple[int, int], int] = {}
        self.committed: dict[int, Entry] = {}
        self.digests: dict[int, str] = {}
        self.floors = SnapshotFloors(nodes)

    def on_log(self, node: int, log_from: int, log: list[Entry], base: int = 0) -> None:
        """on_log checks Log Matching for entries log_from.. of node's persisted log."""
        chain = self._chains.get(node)
        if chain is None:
            chain = self._chains[node] = _Chain(0, 0)
        assert chain.base == base, (node, chain.base, base)
        hashes = chain.hashes
        del hashes[log_from - base :]
        h = hashes[-1]
        chain_at = self._chain_at
        for index in range(log_from, base + len(log) + 1):
            e = log[index - base - 1]
            h = hash((h, e.term, e.cmd, e.payload))
            hashes.append(h)
            seen = chain_at.setdefault((index, e.term), h)
            if seen != h:
                raise SafetyViolation(
                    f"log matching: node {node} index {index} term {e.term} has another prefix"
                )

    def on_snapshot(self, node: int, index: int, term: int, log: list[Entry]) -> None:
        """on_snapshot: node persisted a snapshot at (index, term); log is what follows it."""
        self._chains[node] = _Chain(index, self._anchor(node, index, term))
        if log:
            self.on_log(node, index + 1, log, index)

    def on_restart(self, node: int, log: list[Entry], base: int = 0, base_term: int = 0) -> None:
        self._chains[node] = _Chain(base, self._anchor(node, base, base_term) if base else 0)
        if log:
            self.on_log(node, base + 1, log, base)

    def _anchor(self, node: int, index: int, term: int) -> int:
        """_anchor is the chain value at a snapshot's last entry, in every log that held it."""
        h = self._chain_at.get((index, term))
        if h is None:
            raise SafetyViolation(f"log matching: node {node} holds a snapshot at index {index} "
                                  f"term {term}, an entry no log ever held")
        return h

    def on_leader(self, node: int, term: int, log: list[Entry], base: int = 0,
                  base_term: int = 0) -> None:
        """on_leader checks Election Safety and Leader Completeness (5.4)."""
        other = self.leader_by_term.setdefault(term, node)
        if other != node:
            raise SafetyViolation(f"election safety: nodes {other} and {node} lead term {term}")
        last = base + len(log)
        for index, entry in self.committed.items():
            if index < base:
                continue  # in the snapshot, whose image on_image checks
            if index == base:
                holds = base_term == entry.term
            else:
                holds = index <= last and log[index - base - 1] == entry
            if not holds:
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

    def on_image(self, node: int, index: int, digest: str) -> None:
        """on_image: node's state machine at index has this image (it compacted or installed)."""
        seen = self.digests.setdefault(index, digest)
        if seen != digest:
            raise SafetyViolation(f"state machine safety: node {node} has image {digest} at "
                                  f"index {index}, others {seen}")
        low = self.floors.low
        if self.floors.rise(node, index):
            self._forget(low, self.floors.low)

    def on_install(self, node: int, index: int, digest: str, restored: str) -> None:
        """on_install: node restored the image with this digest and now holds `restored`."""
        if restored != digest:
            raise SafetyViolation(f"state machine safety: node {node} restored image {digest} "
                                  f"at index {index} as {restored}")
        self.on_image(node, index, digest)

    def _forget(self, old_low: int, low: int) -> None:
        """_forget drops what no node can meet again: indices below every snapshot.

        The chain values at each node's own snapshot index stay (a restart anchors there).
        """
        for i in range(old_low + 1, low + 1):
            self.committed.pop(i, None)
        self.digests = {i: d for i, d in self.digests.items() if i > low}
        self._chain_at = {k: h for k, h in self._chain_at.items() if k[0] >= low}
