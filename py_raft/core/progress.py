"""Progress: the leader's view of one follower (Figure 2, "Volatile state on leaders")."""

from dataclasses import dataclass


@dataclass(slots=True)
class Progress:
    """Progress tracks replication to one follower.

    Invariant: 0 <= match_index < next_index.
    `inflight` is True while an AppendEntries with entries awaits its reply; the
    leader then holds back new entries for that follower, so they gather into
    the next batch instead of one message per proposal. A heartbeat resends
    regardless, which also recovers from a lost message.
    """

    next_index: int
    match_index: int = 0
    inflight: bool = False
