"""Errors a caller of the core can make. Broken invariants are assertions instead."""


class NotLeader(Exception):
    """NotLeader is raised by `Raft.propose` on a node that is not the leader.

    `leader_hint` is the leader this node last heard from in its current term,
    or None when it knows of none; a client retries there.
    """

    def __init__(self, leader_hint: int | None) -> None:
        super().__init__(f"not the leader (hint: {leader_hint})")
        self.leader_hint = leader_hint


class SnapshotAhead(Exception):
    """SnapshotAhead is raised by `Raft.snapshot` for an index above `last_applied`.

    The host can only have an image of entries it has applied.
    """

    def __init__(self, index: int, last_applied: int) -> None:
        super().__init__(f"snapshot at {index} is above last applied {last_applied}")
        self.index = index
        self.last_applied = last_applied
