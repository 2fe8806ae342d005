"""The RPCs of Figure 2 of the Raft paper, one frozen dataclass each.

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


Message = RequestVote | RequestVoteReply | AppendEntries | AppendEntriesReply
