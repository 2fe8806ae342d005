"""Snapshot: the state machine's image at one log index (section 7 of the Raft paper)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Snapshot replaces the log up to and including `last_included_index`.

    `data` is the host's serialized state machine after applying that entry;
    the core never looks inside it. The core keeps it, shares it with every
    InstallSnapshot it sends and hands it back through `Ready.restore`, so the
    host must not change it once handed over (bytes cannot be changed anyway).
    """

    last_included_index: int
    last_included_term: int
    data: bytes

    def __post_init__(self) -> None:
        assert self.last_included_index > 0 and self.last_included_term > 0, self
