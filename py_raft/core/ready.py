"""Ready: everything the core asks of its runtime after an input."""

from dataclasses import dataclass, field

from py_raft.core.messages import Entry, Message


@dataclass(slots=True)
class Ready:
    """Ready is the core's output. A runtime must handle its fields in this order:

    1. Persist `hard_state` and the log change (`log_from`, `entries`) to Storage.
       This comes first: a vote or an acknowledgement in `messages` must never
       promise state that a crash right after sending could forget.
    2. Send `messages`, each a (destination id, message) pair.
    3. Apply `committed` to the state machine, in index order.

    `transitions` lists the role changes this input caused, oldest first, for
    the runtime's trace; they need no action.
    """

    hard_state: tuple[int, int | None] | None = None
    log_from: int = 0  # 0: the log did not change; else entries >= log_from are replaced
    entries: list[Entry] = field(default_factory=list)
    messages: list[tuple[int, Message]] = field(default_factory=list)
    committed: list[tuple[int, Entry]] = field(default_factory=list)
    transitions: list[tuple[str, int]] = field(default_factory=list)
