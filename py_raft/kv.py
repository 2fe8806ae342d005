"""KeyValue: the replicated state machine. A command `c<client>.<seq>` sets key `c<client>`.

Each key keeps its value and the command that wrote it last, so that the
image (below) tells two histories apart even though every driver writes the
same payload: the last command per client is what differs.

The image, the bytes a snapshot carries (docs/protocol.md, "Snapshots and
storage"), is the same in every language, byte for byte:

    <last applied index>\\n
    <cmd>\\t<payload>\\n    one line per key, the lines sorted by byte order

UTF-8, decimal index, no other whitespace. A cmd holds no tab and a payload no
newline (drivers make both from ASCII letters, digits and a dot).
"""

import hashlib

from py_raft.core.messages import Entry


class KeyValue:
    __slots__ = ("data", "last_index")

    def __init__(self) -> None:
        self.data: dict[str, tuple[str, str]] = {}  # key -> (cmd, payload)
        self.last_index = 0

    def apply(self, index: int, entry: Entry) -> None:
        assert index == self.last_index + 1, f"applied {index} after {self.last_index}"
        self.last_index = index
        cmd = entry.cmd
        if cmd is not None:
            self.data[cmd.partition(".")[0]] = (cmd, entry.payload)

    def image(self) -> bytes:
        """image serializes the state machine at last_index (the format above)."""
        lines = sorted(f"{cmd}\t{payload}\n" for cmd, payload in self.data.values())
        return f"{self.last_index}\n{''.join(lines)}".encode()

    def restore(self, data: bytes, index: int) -> None:
        """restore replaces the state with an image taken at index."""
        head, _, body = data.decode().partition("\n")
        assert int(head) == index, f"an image of index {head} restored as {index}"
        self.data = {}
        for line in body.split("\n")[:-1]:  # every line ends in a newline
            cmd, _, payload = line.partition("\t")
            self.data[cmd.partition(".")[0]] = (cmd, payload)
        self.last_index = index


def digest(data: bytes) -> str:
    """digest names an image in a trace: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(data).hexdigest()[:16]
