"""The RPCs of Figures 2 and 13 of the Raft paper, one frozen dataclass each.

Field names follow the paper. Replies carry the id of the server that sent
them (`voter_id`, `follower_id`), which the paper leaves to the transport.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Entry:
    """Entry is one log entry. `cmd` is None for the no-op a new leader appends."""

    term: int
    cmd: str | None
    payload: str = ""


@dataclass(frozen=True, slots=True)
class RequestVote:
    """RequestVote is sent by candidates to gather votes (paper section 5.2)."""

    term: int
    candidate_id: int
    last_log_index: int
    last_log_term: int


@dataclass(frozen=True, slots=True)
class RequestVoteReply:
    term: int
    vote_granted: bool
    voter_id: int


@dataclass(frozen=True, slots=True)
class AppendEntries:
    """AppendEntries replicates entries; with no entries it is a heartbeat (section 5.3)."""

    term: int
    leader_id: int
    prev_log_index: int
    prev_log_term: int
    entries: tuple[Entry, ...]
    leader_commit: int


@dataclass(frozen=True, slots=True)
class AppendEntriesReply:
    """AppendEntriesReply answers AppendEntries.

    On success `match_index` is the last index known to match the leader.
    On failure `conflict_index`/`conflict_term` are the fast-backtracking hint
    of section 5.3: the first index the follower holds for `conflict_term`
    (or its log length + 1 with `conflict_term` 0 when its log is too short).
    """

    term: int
    success: bool
    follower_id: int
    match_index: int
    conflict_index: int
    conflict_term: int


@dataclass(frozen=True, slots=True)
class InstallSnapshot:
    """InstallSnapshot sends a leader's snapshot to a follower whose next entry it compacted.

    Figure 13, sent in one chunk: the paper's `offset` is always 0 and `done`
    always true, so neither is carried (docs/snapshots.md).
    """

    term: int
    leader_id: int
    last_included_index: int
    last_included_term: int
    data: bytes


@dataclass(frozen=True, slots=True)
class InstallSnapshotReply:
    """InstallSnapshotReply answers InstallSnapshot.

    `match_index` is the last index the follower now knows to match the
    leader: the snapshot's last included index once installed, or the
    follower's commit index when its log already covers the snapshot
    (0 when it rejects a stale term). There is no `success`: a reply of the
    leader's term always counts, a higher term makes it step down.
    """

    term: int
    follower_id: int
    match_index: int


Message = (
    RequestVote
    | RequestVoteReply
    | AppendEntries
    | AppendEntriesReply
    | InstallSnapshot
    | InstallSnapshotReply
)
