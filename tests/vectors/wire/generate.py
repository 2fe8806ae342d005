"""Generate the shared wire vectors: frames encoded by py_raft/wire.py, and bad streams.

Run `python tests/vectors/wire/generate.py` from the repository root after a
deliberate change to the format (docs/wire.md), then review the diff. Each
`<name>.json` is a frame and its exact bytes; each `reject_<name>.json` is a
stream both decoders must refuse, with the kind of error. tests/test_wire.py
and go_raft/wire/wire_test.go read every file here.
"""

import json
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

import msgpack  # noqa: E402

from py_raft import wire  # noqa: E402
from py_raft.core import (  # noqa: E402
    AppendEntries,
    AppendEntriesReply,
    Entry,
    InstallSnapshot,
    InstallSnapshotReply,
    RequestVote,
    RequestVoteReply,
)

BIG = 2**40

FRAMES: dict[str, wire.Frame] = {
    "hello_node": wire.Hello(wire.VERSION, 2),
    "hello_client": wire.Hello(wire.VERSION, None),
    "request_vote": RequestVote(3, 1, 7, 2),
    "request_vote_large_ints": RequestVote(BIG, 4, BIG + 1, BIG - 1),
    "request_vote_reply_granted": RequestVoteReply(5, True, 2),
    "request_vote_reply_denied": RequestVoteReply(BIG, False, 0),
    "append_entries_heartbeat": AppendEntries(4, 0, 12, 3, (), 11),
    "append_entries_noop": AppendEntries(5, 1, 12, 4, (Entry(5, None, ""),), 12),
    "append_entries_batch": AppendEntries(
        2, 1, 0, 0, (Entry(1, "set", "k=v"), Entry(2, None), Entry(2, "c3.17", "x" * 40)), 1
    ),
    "append_entries_unicode": AppendEntries(
        7, 2, 3, 7, (Entry(7, "ключ-✓-🦀", "значение ∑ 数据"),), 3
    ),
    "append_entries_large_ints": AppendEntries(BIG, 3, BIG, BIG - 1, (Entry(BIG, "c", ""),), BIG),
    # Sixteen entries take an array16, and a 300-byte payload a str16.
    "append_entries_sixteen": AppendEntries(
        9, 0, 100, 9, tuple(Entry(9, f"c0.{i}", "p" * (300 if i == 15 else i)) for i in range(16)),
        100,
    ),
    "append_entries_reply_success": AppendEntriesReply(6, True, 2, 40, 0, 0),
    "append_entries_reply_conflict": AppendEntriesReply(6, False, 4, 0, 17, 3),
    # Each int one width wider than the last: fixint, uint8, uint16, uint32, uint64.
    "append_entries_reply_int_widths": AppendEntriesReply(127, False, 128, 256, 65536, 2**32),
    "install_snapshot_empty": InstallSnapshot(3, 0, 0, 0, b""),
    "install_snapshot": InstallSnapshot(8, 1, 120, 7, bytes([0, 1, 0x7F, 0x80, 0xC1, 0xFF])),
    "install_snapshot_bin16": InstallSnapshot(BIG, 2, BIG, BIG, bytes(range(256)) * 2),
    "install_snapshot_reply": InstallSnapshotReply(8, 2, 120),
    "propose": wire.Propose("c1.1", "x"),
    "propose_empty": wire.Propose("", ""),
    "propose_unicode": wire.Propose("c2.∞", "😀" * 10),
    "redirect": wire.Redirect(2),
    "redirect_none": wire.Redirect(None),
    "committed": wire.Committed(42),
    "committed_max_int": wire.Committed(2**63 - 1),
    "lost": wire.Lost(),
}


def pack(*fields: Any) -> bytes:
    return msgpack.packb(list(fields))


def array(n: int, *fields: Any, rest: bytes) -> bytes:
    """array is a fixarray header of n items, then fields packed, then raw bytes."""
    return bytes([0x90 | n]) + b"".join(msgpack.packb(f) for f in fields) + rest


def frame(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


def rv(*, term: Any = 3) -> bytes:
    return frame(pack(2, term, 1, 7, 2))


def snapshot_with(data: Any) -> bytes:
    return frame(pack(6, 8, 1, 120, 7, data))


def ae_with(entries: Any) -> bytes:
    return frame(pack(4, 5, 1, 12, 4, entries, 12))


# Each bad stream: the error both decoders must raise, why, and the bytes.
REJECTS: dict[str, tuple[str, str, bytes]] = {
    "oversized": ("oversized", "one byte over MAX_FRAME is declared; no body follows",
                  (wire.MAX_FRAME + 1).to_bytes(4, "big")),
    "oversized_max_u32": ("oversized", "the largest length a header can declare",
                          b"\xff\xff\xff\xff" + b"\x91\x0b"),
    "truncated_header": ("truncated", "the stream ends after 2 bytes of a header", b"\x00\x00"),
    "truncated_body": ("truncated", "a body of 5 bytes is declared, 3 follow",
                       b"\x00\x00\x00\x05\x93\x0a\x01"),
    "empty_body": ("malformed", "a body of 0 bytes holds no value", b"\x00\x00\x00\x00"),
    "bad_msgpack": ("malformed", "0xc1 is never used in msgpack", frame(b"\xc1")),
    "body_ends_inside_value": ("malformed", "the array declares 5 items, the body holds 2",
                               frame(b"\x95\x02\x03")),
    "trailing_bytes": ("malformed", "a Lost then one more byte", frame(pack(11) + b"\x00")),
    "not_array": ("malformed", "a map, not an array", frame(msgpack.packb({"type": 11}))),
    "empty_array": ("malformed", "an array without a tag", frame(pack())),
    "unknown_tag_zero": ("malformed", "tag 0 is no frame type", frame(pack(0))),
    "unknown_tag_99": ("malformed", "tag 99 is no frame type", frame(pack(99, 1))),
    "tag_not_int": ("malformed", "the tag is a str", frame(pack("Lost"))),
    "tag_bool": ("malformed", "the tag is true, not 1", frame(pack(True, 1, None))),
    "too_few_fields": ("malformed", "a RequestVote with 3 fields", frame(pack(2, 3, 1, 7))),
    "too_many_fields": ("malformed", "a Lost with a field", frame(pack(11, 1))),
    "nil_for_int": ("malformed", "a term of nil", rv(term=None)),
    "bool_for_int": ("malformed", "a term of true", rv(term=True)),
    "negative_int": ("malformed", "a term of -1", rv(term=-1)),
    "int_over_int64": ("malformed", "a term of 2^64-1, past Go's int", rv(term=2**64 - 1)),
    "float_for_int": ("malformed", "a term of 1.0", rv(term=1.0)),
    "str_for_int": ("malformed", "a term of \"3\"", rv(term="3")),
    "int_for_bool": ("malformed", "vote_granted of 1",
                     frame(pack(3, 5, 1, 2))),
    "bin_for_str": ("malformed", "a Propose cmd of bin", frame(pack(8, b"c1.1", "x"))),
    "invalid_utf8": ("malformed", "a Propose cmd of str 0xff, not UTF-8",
                     frame(b"\x93\x08\xa1\xff\xa0")),
    "str_for_bin": ("malformed", "snapshot data of str", snapshot_with("abc")),
    "nil_for_bin": ("malformed", "snapshot data of nil", snapshot_with(None)),
    "bin_longer_than_body": ("malformed", "snapshot data declares 2^32-1 bytes in a short body",
                             frame(array(6, 6, 8, 1, 120, 7, rest=b"\xc6\xff\xff\xff\xff\x00"))),
    "negative_leader_hint": ("malformed", "no hint is nil, not -1", frame(pack(9, -1))),
    "entries_nil": ("malformed", "entries of nil", ae_with(None)),
    "entry_not_array": ("malformed", "an entry that is an int", ae_with([5])),
    "entry_two_fields": ("malformed", "an entry without a payload", ae_with([[5, "c"]])),
    "entry_payload_nil": ("malformed", "only cmd may be nil", ae_with([[5, "c", None]])),
    "entries_count_past_body": ("malformed", "65535 entries declared, one present",
                                frame(array(7, 4, 5, 1, 12, 4,
                                            rest=b"\xdc\xff\xff" + pack(5, None, "") + b"\x0c"))),
    "ext_for_int": ("malformed", "a term that is an ext value",
                    rv(term=msgpack.ExtType(1, b"\x03"))),
}


def to_json(f: wire.Frame) -> dict[str, Any]:
    """to_json writes a frame as its type and fields: entries as in tests/vectors/,
    snapshot data as hex."""
    out: dict[str, Any] = {"type": type(f).__name__}
    for field in fields(f):
        v = getattr(f, field.name)
        if isinstance(v, bytes):
            v = v.hex()
        elif isinstance(v, tuple):
            v = [{"term": e.term, "cmd": e.cmd, "payload": e.payload} for e in v]
        out[field.name] = v
    return out


def main() -> None:
    for old in HERE.glob("*.json"):
        old.unlink()
    for name, f in FRAMES.items():
        write(name, {"name": name, "frame": to_json(f), "hex": wire.encode(f).hex()})
    for name, (error, why, stream) in REJECTS.items():
        write(f"reject_{name}", {"name": name, "why": why, "error": error, "hex": stream.hex()})
    print(f"{len(FRAMES)} frames and {len(REJECTS)} bad streams in {HERE}")


def write(name: str, vector: dict[str, Any]) -> None:
    (HERE / f"{name}.json").write_text(json.dumps(vector, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
