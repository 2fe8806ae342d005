"""wire: the frames Raft nodes and their clients exchange over TCP (docs/wire.md).

A frame is a 4-byte big-endian body length, then a msgpack body: an array
`[tag, field, ...]` with the fields in their dataclass's order. The Go package
go_raft/wire writes the very same bytes; tests/vectors/wire/ holds the proof.

Decoding trusts nothing. A frame that is not well formed raises a WireError
(Malformed, Oversized or Truncated) for the caller to count, and no declared
length is read past or allocated before its bytes arrive.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import IO, Any

import msgpack

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

VERSION = 1  # the protocol version a Hello carries
MAX_FRAME = 64 * 1024 * 1024  # the largest body a frame may declare; a snapshot must fit
HEADER = 4
_MAX_INT = 2**63 - 1  # Go's int
_CHUNK = 1 << 20


class WireError(Exception):
    """WireError is a frame that cannot be read; the connection it came on is spent."""


class Malformed(WireError):
    """Malformed: the body is not one msgpack array of a known frame type."""


class Oversized(WireError):
    """Oversized: the header declares a body over MAX_FRAME."""


class Truncated(WireError):
    """Truncated: the stream ended inside a frame."""


@dataclass(frozen=True, slots=True)
class Hello:
    """Hello is the first frame on every connection.

    `node_id` is the sender's node id, or None for a client; a server refuses
    an id it does not know.
    """

    version: int
    node_id: int | None


@dataclass(frozen=True, slots=True)
class Propose:
    """Propose asks a node to replicate a client's command."""

    cmd: str
    payload: str


@dataclass(frozen=True, slots=True)
class Redirect:
    """Redirect answers a Propose at a node that does not lead."""

    leader_hint: int | None


@dataclass(frozen=True, slots=True)
class Committed:
    """Committed answers a Propose whose entry committed at `index`."""

    index: int


@dataclass(frozen=True, slots=True)
class Lost:
    """Lost answers a Propose whose entry a new leader overwrote."""


Frame = Message | Hello | Propose | Redirect | Committed | Lost
Check = Callable[[Any], Any]


def _int(v: Any) -> int:
    # Every int of the format is a term, an index or a node id. `type(v) is int`
    # because a bool is an int to isinstance.
    if type(v) is not int:
        raise Malformed(f"expected an int, got {type(v).__name__}")
    if not 0 <= v <= _MAX_INT:
        raise Malformed(f"{v} is out of range")
    return v


def _optional_int(v: Any) -> int | None:
    return None if v is None else _int(v)


def _bool(v: Any) -> bool:
    if type(v) is not bool:
        raise Malformed(f"expected a bool, got {type(v).__name__}")
    return v


def _str(v: Any) -> str:
    if type(v) is not str:
        raise Malformed(f"expected a str, got {type(v).__name__}")
    return v


def _bytes(v: Any) -> bytes:
    if type(v) is not bytes:
        raise Malformed(f"expected bin, got {type(v).__name__}")
    return v


def _entries(v: Any) -> tuple[Entry, ...]:
    if type(v) is not list:
        raise Malformed(f"expected an array of entries, got {type(v).__name__}")
    # Inline checks: an AppendEntries may carry many entries, and this is its hot loop.
    entries = []
    for i, e in enumerate(v):
        if type(e) is not list or len(e) != 3:
            raise Malformed(f"entry {i} is not an array of 3")
        term, cmd, payload = e
        if (type(term) is not int or not 0 <= term <= _MAX_INT
                or (cmd is not None and type(cmd) is not str) or type(payload) is not str):
            raise Malformed(f"entry {i} is not [int, str or nil, str]")
        entries.append(Entry(term, cmd, payload))
    return tuple(entries)


# The one table of the format: each tag's frame type and the checks of its
# fields, in order. The tags are the wire's names for the types; they never change.
_SCHEMA: dict[int, tuple[type[Any], tuple[Check, ...]]] = {
    1: (Hello, (_int, _optional_int)),
    2: (RequestVote, (_int, _int, _int, _int)),
    3: (RequestVoteReply, (_int, _bool, _int)),
    4: (AppendEntries, (_int, _int, _int, _int, _entries, _int)),
    5: (AppendEntriesReply, (_int, _bool, _int, _int, _int, _int)),
    6: (InstallSnapshot, (_int, _int, _int, _int, _bytes)),
    7: (InstallSnapshotReply, (_int, _int, _int)),
    8: (Propose, (_str, _str)),
    9: (Redirect, (_optional_int,)),
    10: (Committed, (_int,)),
    11: (Lost, ()),
}
_TAG = {cls: tag for tag, (cls, _) in _SCHEMA.items()}
_FIELDS = {cls: tuple(f.name for f in fields(cls)) for cls in _TAG}


def _pack_entry(e: object) -> tuple[int, str | None, str]:
    if type(e) is not Entry:
        raise TypeError(f"wire cannot encode a {type(e).__name__}")
    return (e.term, e.cmd, e.payload)


def encode(frame: Frame) -> bytes:
    """encode returns `frame` as bytes to send, header included."""
    cls = type(frame)
    if cls not in _TAG:
        raise TypeError(f"wire cannot encode a {cls.__name__}")
    body: bytes = msgpack.packb(
        [_TAG[cls], *[getattr(frame, name) for name in _FIELDS[cls]]], default=_pack_entry
    )
    if len(body) > MAX_FRAME:
        raise Oversized(f"a {cls.__name__} of {len(body)} bytes")
    return len(body).to_bytes(HEADER, "big") + body


def decode(body: bytes) -> Frame:
    """decode returns the frame in `body`, the bytes after a header."""
    try:
        obj = msgpack.unpackb(body)
    except (ValueError, msgpack.UnpackException) as e:
        raise Malformed(f"not one msgpack value: {e}") from None
    if type(obj) is not list or not obj:
        raise Malformed("a frame is a non-empty array")
    tag = obj[0]
    if type(tag) is not int or tag not in _SCHEMA:
        raise Malformed(f"unknown type tag {tag if type(tag) is int else type(tag).__name__}")
    cls, checks = _SCHEMA[tag]
    if len(obj) - 1 != len(checks):
        raise Malformed(f"a {cls.__name__} has {len(checks)} fields, not {len(obj) - 1}")
    values = []
    for name, check, v in zip(_FIELDS[cls], checks, obj[1:], strict=True):
        try:
            values.append(check(v))
        except Malformed as e:
            raise Malformed(f"{cls.__name__}.{name}: {e}") from None
    frame: Frame = cls(*values)
    return frame


def body_length(header: bytes) -> int:
    """body_length reads a header, refusing a length over MAX_FRAME before its body is read."""
    n = int.from_bytes(header, "big")
    if n > MAX_FRAME:
        raise Oversized(f"{n} bytes declared, the limit is {MAX_FRAME}")
    return n


def split(buf: bytes | bytearray | memoryview) -> tuple[Frame, int] | None:
    """split returns the first frame in `buf` and the bytes it took, or None
    while `buf` holds only part of it (for a protocol that buffers its own input)."""
    if len(buf) < HEADER:
        return None
    end = HEADER + body_length(bytes(buf[:HEADER]))
    if len(buf) < end:
        return None
    return decode(bytes(buf[HEADER:end])), end


def read(stream: IO[bytes]) -> Frame | None:
    """read returns the next frame of a blocking binary stream (a socket's
    `makefile("rb")`), or None when the stream ends between frames."""
    header = _read_exactly(stream, HEADER)
    if not header:
        return None
    if len(header) < HEADER:
        raise Truncated("in the header")
    n = body_length(header)
    body = _read_exactly(stream, n)
    if len(body) < n:
        raise Truncated(f"in a body of {n} bytes")
    return decode(body)


def _read_exactly(stream: IO[bytes], n: int) -> bytes:
    """_read_exactly reads n bytes or up to the end of the stream, a chunk at a
    time, so that a declared length alone costs at most a chunk of memory."""
    parts = []
    left = n
    while left:
        part = stream.read(min(left, _CHUNK))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


async def aread(reader: asyncio.StreamReader) -> Frame | None:
    """aread is `read` for an asyncio stream."""
    try:
        header = await reader.readexactly(HEADER)
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            return None
        raise Truncated("in the header") from None
    n = body_length(header)
    try:
        body = await reader.readexactly(n)
    except asyncio.IncompleteReadError:
        raise Truncated(f"in a body of {n} bytes") from None
    return decode(body)
