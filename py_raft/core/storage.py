"""Storage: what a server persists before it answers (Figure 2, "Persistent state").

A restarted server is rebuilt from its Storage and nothing else: its snapshot,
if the Storage keeps one (SnapshotStorage), then the log after it.
"""

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from py_raft.core.messages import Entry
from py_raft.core.snapshot import Snapshot


class Storage(Protocol):
    def hard_state(self) -> tuple[int, int | None]:
        """hard_state returns (current_term, voted_for)."""
        ...

    def entries(self) -> list[Entry]:
        """entries returns the persisted log after the snapshot, if any.

        Element 0 is index 1, or index last_included_index + 1 after a snapshot.
        """
        ...

    def set_hard_state(self, current_term: int, voted_for: int | None) -> None: ...

    def truncate_and_append(self, first_index: int, entries: Sequence[Entry]) -> None:
        """truncate_and_append drops every entry at or after first_index, then appends."""
        ...


@runtime_checkable
class SnapshotStorage(Storage, Protocol):
    """SnapshotStorage is a Storage that also keeps the latest snapshot (section 7).

    A Storage without these methods never holds a snapshot; a core over it
    starts with none, and its host must leave `Config.snapshot_entries` at 0.
    """

    def snapshot(self) -> Snapshot | None:
        """snapshot returns the latest saved snapshot, None if there is none."""
        ...

    def save_snapshot(self, snapshot: Snapshot) -> None:
        """save_snapshot keeps snapshot and drops every entry at or below its index.

        Entries after its index stay; when they conflict, the Ready that carries
        the snapshot also carries the log change that truncates them, persisted
        after it. All entries go if the log ends before the snapshot's index.
        """
        ...


class MemoryStorage:
    """MemoryStorage keeps the persistent state in memory; it outlives a crashed node."""

    __slots__ = ("_term", "_vote", "_log", "_snapshot")

    def __init__(self) -> None:
        self._term = 0
        self._vote: int | None = None
        self._log: list[Entry] = []
        self._snapshot: Snapshot | None = None

    def hard_state(self) -> tuple[int, int | None]:
        return self._term, self._vote

    def entries(self) -> list[Entry]:
        return list(self._log)

    def set_hard_state(self, current_term: int, voted_for: int | None) -> None:
        self._term, self._vote = current_term, voted_for

    def truncate_and_append(self, first_index: int, entries: Sequence[Entry]) -> None:
        base = self._base()
        assert base + 1 <= first_index <= base + len(self._log) + 1, (
            first_index, base, len(self._log))
        del self._log[first_index - base - 1 :]
        self._log.extend(entries)

    def snapshot(self) -> Snapshot | None:
        return self._snapshot

    def save_snapshot(self, snapshot: Snapshot) -> None:
        base = self._base()
        assert snapshot.last_included_index > base, (snapshot.last_included_index, base)
        del self._log[: snapshot.last_included_index - base]
        self._snapshot = snapshot

    def _base(self) -> int:
        """_base is the index just before the first entry held: the snapshot's, or 0."""
        return self._snapshot.last_included_index if self._snapshot is not None else 0
