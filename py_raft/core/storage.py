"""Storage: what a server persists before it answers (Figure 2, "Persistent state").

A restarted server is rebuilt from its Storage and nothing else.
"""

from collections.abc import Sequence
from typing import Protocol

from py_raft.core.messages import Entry


class Storage(Protocol):
    def hard_state(self) -> tuple[int, int | None]:
        """hard_state returns (current_term, voted_for)."""
        ...

    def entries(self) -> list[Entry]:
        """entries returns the whole persisted log; index 1 is element 0."""
        ...

    def set_hard_state(self, current_term: int, voted_for: int | None) -> None: ...

    def truncate_and_append(self, first_index: int, entries: Sequence[Entry]) -> None:
        """truncate_and_append drops every entry at or after first_index, then appends."""
        ...


class MemoryStorage:
    """MemoryStorage keeps the persistent state in memory; it outlives a crashed node."""

    __slots__ = ("_term", "_vote", "_log")

    def __init__(self) -> None:
        self._term = 0
        self._vote: int | None = None
        self._log: list[Entry] = []

    def hard_state(self) -> tuple[int, int | None]:
        return self._term, self._vote

    def entries(self) -> list[Entry]:
        return list(self._log)

    def set_hard_state(self, current_term: int, voted_for: int | None) -> None:
        self._term, self._vote = current_term, voted_for

    def truncate_and_append(self, first_index: int, entries: Sequence[Entry]) -> None:
        assert 1 <= first_index <= len(self._log) + 1, (first_index, len(self._log))
        del self._log[first_index - 1 :]
        self._log.extend(entries)
