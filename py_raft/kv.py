"""KeyValue: the replicated state machine. A command `c<client>.<seq>` sets key `c<client>`."""

from py_raft.core.messages import Entry


class KeyValue:
    __slots__ = ("data", "last_index")

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.last_index = 0

    def apply(self, index: int, entry: Entry) -> None:
        assert index == self.last_index + 1, f"applied {index} after {self.last_index}"
        self.last_index = index
        if entry.cmd is not None:
            self.data[entry.cmd.partition(".")[0]] = entry.payload
