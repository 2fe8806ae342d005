"""The Raft core: a pure state machine, as in Figure 2 of the Raft paper.

Theory of operation
-------------------
A `Raft` object is one server. It never reads a clock, sleeps, spawns anything
or touches a socket. A runtime drives it with four inputs, each stamped with the
runtime's notion of "now" in integer microseconds:

* `step(msg, now)`  a message from a peer arrived;
* `tick(now)`       the deadline from `next_deadline()` has passed;
* `propose(cmd, payload, now)`  a client asks the leader to replicate a command;
* `snapshot(index, data)`  the host hands over its state machine's image, when
  a Ready asked for one (`snapshot_due`), and the log up to index is compacted;
* construction from a `Storage`  a (re)start from whatever was persisted.

After any input the runtime calls `ready()` and carries out the returned `Ready`
in the order its fields are documented: persist, then send, then apply.
Randomness (the election timeout) comes only from the injected `SplitMix64`,
so a run replays exactly from its seed.
"""

from py_raft.core.errors import NotLeader, SnapshotAhead
from py_raft.core.messages import (
    AppendEntries,
    AppendEntriesReply,
    Entry,
    InstallSnapshot,
    InstallSnapshotReply,
    Message,
    RequestVote,
    RequestVoteReply,
)
from py_raft.core.raft import Config, Raft, Role
from py_raft.core.ready import Ready
from py_raft.core.rng import SplitMix64, derive_seed
from py_raft.core.snapshot import Snapshot
from py_raft.core.storage import MemoryStorage, SnapshotStorage, Storage

__all__ = [
    "AppendEntries",
    "AppendEntriesReply",
    "Config",
    "Entry",
    "InstallSnapshot",
    "InstallSnapshotReply",
    "MemoryStorage",
    "Message",
    "NotLeader",
    "Raft",
    "Ready",
    "RequestVote",
    "RequestVoteReply",
    "Role",
    "Snapshot",
    "SnapshotAhead",
    "SnapshotStorage",
    "SplitMix64",
    "Storage",
    "derive_seed",
]
