"""Ready: everything the core asks of its runtime after an input."""

from dataclasses import dataclass, field

from py_raft.core.messages import Entry, Message
from py_raft.core.snapshot import Snapshot


@dataclass(slots=True)
class Ready:
    """Ready is the core's output. A runtime must handle its fields in this order:

    1. Persist `snapshot` (Storage.save_snapshot: it also drops the persisted
       entries it covers), then `hard_state` and the log change (`log_from`,
       `entries`). This comes first: a vote or an acknowledgement in `messages`
       must never promise state that a crash right after sending could forget.
    2. Send `messages`, each a (destination id, message) pair.
    3. Apply: first reset the state machine from `restore`, if any (it is then
       at `restore.last_included_index`), then apply `committed` in index order.
    4. If `snapshot_due` is not 0, the state machine is now at that index and
       the core asks for its image: call `Raft.snapshot(snapshot_due, data)`,
       then handle the Ready that follows (its `snapshot` is to persist).

    `transitions` lists the role changes this input caused, oldest first, for
    the runtime's trace; they need no action. With snapshots off
    (`Config.snapshot_entries` 0, no snapshot in Storage, no InstallSnapshot
    received) `snapshot`, `restore` and `snapshot_due` stay empty.
    """

    hard_state: tuple[int, int | None] | None = None
    log_from: int = 0  # 0: the log did not change; else entries >= log_from are replaced
    entries: list[Entry] = field(default_factory=list)
    messages: list[tuple[int, Message]] = field(default_factory=list)
    committed: list[tuple[int, Entry]] = field(default_factory=list)
    transitions: list[tuple[str, int]] = field(default_factory=list)
    snapshot: Snapshot | None = None  # to persist: a compaction or an installed snapshot
    restore: Snapshot | None = None  # to load into the state machine before `committed`
    snapshot_due: int = 0  # 0: none; else the index to snapshot at, after applying
