"""The wire format (docs/wire.md): the shared vectors in tests/vectors/wire/, byte for
byte, and a decoder that refuses every bad stream with a WireError and nothing else."""

import asyncio
import contextlib
import io
import json
import random
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from py_raft import wire
from py_raft.core import (
    AppendEntries,
    AppendEntriesReply,
    Entry,
    InstallSnapshot,
    InstallSnapshotReply,
    RequestVote,
    RequestVoteReply,
)

VECTORS = Path(__file__).parent / "vectors" / "wire"
FRAMES = [json.loads(p.read_text()) for p in sorted(VECTORS.glob("*.json"))
          if not p.name.startswith("reject_")]
REJECTS = [json.loads(p.read_text()) for p in sorted(VECTORS.glob("reject_*.json"))]
TYPES = {cls.__name__: cls for cls in (
    wire.Hello, RequestVote, RequestVoteReply, AppendEntries, AppendEntriesReply,
    InstallSnapshot, InstallSnapshotReply, wire.Propose, wire.Redirect, wire.Committed, wire.Lost,
)}
ERRORS = {"malformed": wire.Malformed, "oversized": wire.Oversized, "truncated": wire.Truncated}


def from_json(d: dict[str, Any]) -> wire.Frame:
    fields = {k: v for k, v in d.items() if k != "type"}
    if "entries" in fields:
        fields["entries"] = tuple(Entry(e["term"], e["cmd"], e["payload"])
                                  for e in fields["entries"])
    if "data" in fields:
        fields["data"] = bytes.fromhex(fields["data"])
    frame: wire.Frame = TYPES[d["type"]](**fields)
    return frame


def names(vectors: list[dict[str, Any]]) -> list[str]:
    return [v["name"] for v in vectors]


def aread_all(stream: bytes) -> wire.Frame | None:
    async def go() -> wire.Frame | None:
        reader = asyncio.StreamReader()
        reader.feed_data(stream)
        reader.feed_eof()
        return await wire.aread(reader)

    return asyncio.run(go())


def test_the_vectors_cover_every_frame_type_and_every_bad_stream_kind() -> None:
    assert len(FRAMES) >= 20
    assert {v["frame"]["type"] for v in FRAMES} == set(TYPES)
    assert {v["error"] for v in REJECTS} == set(ERRORS)


@pytest.mark.parametrize("vector", FRAMES, ids=names(FRAMES))
def test_encode_writes_the_vectors_bytes(vector: dict[str, Any]) -> None:
    assert wire.encode(from_json(vector["frame"])).hex() == vector["hex"]


@pytest.mark.parametrize("vector", FRAMES, ids=names(FRAMES))
def test_every_reader_decodes_the_vector(vector: dict[str, Any]) -> None:
    frame, stream = from_json(vector["frame"]), bytes.fromhex(vector["hex"])
    assert wire.decode(stream[wire.HEADER:]) == frame
    assert wire.split(stream + b"\x00") == (frame, len(stream))
    assert aread_all(stream) == frame
    f = io.BytesIO(stream)
    assert wire.read(f) == frame
    assert wire.read(f) is None  # the stream ends between frames


@pytest.mark.parametrize("vector", FRAMES, ids=names(FRAMES))
def test_a_stream_cut_inside_a_frame_is_truncated(vector: dict[str, Any]) -> None:
    stream = bytes.fromhex(vector["hex"])
    assert wire.read(io.BytesIO(b"")) is None
    for cut in range(1, len(stream)):
        with pytest.raises(wire.Truncated):
            wire.read(io.BytesIO(stream[:cut]))
        assert wire.split(stream[:cut]) is None
    for cut in (1, len(stream) - 1):
        with pytest.raises(wire.Truncated):
            aread_all(stream[:cut])


@pytest.mark.parametrize("vector", REJECTS, ids=names(REJECTS))
def test_every_reader_refuses_the_bad_stream(vector: dict[str, Any]) -> None:
    error, stream = ERRORS[vector["error"]], bytes.fromhex(vector["hex"])
    with pytest.raises(error):
        wire.read(io.BytesIO(stream))
    with pytest.raises(error):
        aread_all(stream)
    if error is wire.Truncated:
        assert wire.split(stream) is None
    else:
        with pytest.raises(error):
            wire.split(stream)


def test_a_stream_of_frames_reads_in_order_then_ends() -> None:
    frames = [from_json(v["frame"]) for v in FRAMES]
    f = io.BytesIO(b"".join(wire.encode(fr) for fr in frames))
    assert [wire.read(f) for _ in frames] == frames
    assert wire.read(f) is None


def test_encode_refuses_a_body_over_the_limit_and_a_type_not_of_the_format() -> None:
    with pytest.raises(wire.Oversized):
        wire.encode(InstallSnapshot(1, 0, 1, 1, bytes(wire.MAX_FRAME)))
    with pytest.raises(TypeError):
        wire.encode(Entry(1, "c"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        wire.encode(AppendEntries(1, 0, 0, 0, (RequestVote(1, 0, 0, 0),), 0))  # type: ignore[arg-type]


ids = st.integers(min_value=0, max_value=2**63 - 1)
text = st.text(max_size=40)
entries = st.lists(st.builds(Entry, ids, st.none() | text, text), max_size=20).map(tuple)
frames = st.one_of(
    st.builds(wire.Hello, ids, st.none() | ids),
    st.builds(RequestVote, ids, ids, ids, ids),
    st.builds(RequestVoteReply, ids, st.booleans(), ids),
    st.builds(AppendEntries, ids, ids, ids, ids, entries, ids),
    st.builds(AppendEntriesReply, ids, st.booleans(), ids, ids, ids, ids),
    st.builds(InstallSnapshot, ids, ids, ids, ids, st.binary(max_size=300)),
    st.builds(InstallSnapshotReply, ids, ids, ids),
    st.builds(wire.Propose, text, text),
    st.builds(wire.Redirect, st.none() | ids),
    st.builds(wire.Committed, ids),
    st.just(wire.Lost()),
)


@given(frames)
def test_every_frame_reads_back_as_itself(frame: wire.Frame) -> None:
    assert wire.read(io.BytesIO(wire.encode(frame))) == frame


def refused_or_read(stream: bytes) -> None:
    """refused_or_read: a stream yields frames until it ends or a WireError; never another error."""
    f = io.BytesIO(stream)
    with contextlib.suppress(wire.WireError):
        while wire.read(f) is not None:
            pass
    with contextlib.suppress(wire.WireError):
        wire.split(stream)


@settings(max_examples=500)
@given(st.binary(max_size=64))
def test_random_bytes_raise_nothing_but_a_wire_error(stream: bytes) -> None:
    refused_or_read(stream)
    refused_or_read(len(stream).to_bytes(4, "big") + stream)


values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | text
    | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=8) | st.dictionaries(text, inner, max_size=3),
    max_leaves=20,
)


@settings(max_examples=500)
@given(st.integers(0, 12), st.lists(values, max_size=8))
def test_msgpack_of_the_wrong_shape_is_malformed(tag: int, fields: list[Any]) -> None:
    body = msgpack.packb([tag, *fields])
    with contextlib.suppress(wire.Malformed):
        wire.decode(body)


@pytest.mark.parametrize("seed", range(20))
def test_mutated_vectors_raise_nothing_but_a_wire_error(seed: int) -> None:
    rng = random.Random(seed)
    for step in range(200):
        stream = bytearray.fromhex(rng.choice(FRAMES)["hex"])
        for _ in range(rng.randint(1, 4)):
            stream[rng.randrange(len(stream))] = rng.randrange(256)
        try:
            refused_or_read(bytes(stream))
        except Exception as e:
            raise AssertionError(f"seed {seed}, step {step}: {stream.hex()}") from e
