"""FileStorage: what a node reads back after a crash is what reached the disk, never garbage.

As etcd's wal tests do, the log file is cut at every offset and has each of
its bytes damaged in turn; each time the store must reopen to the state after
the last whole record before the damage, and cut the rest away. Round trips
cover the hard state, truncation, compaction, and a compaction that a crash
interrupted between its two renames. A randomized run checks the store
against MemoryStorage through syncs, unsynced crashes and reopenings.
"""

import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from py_raft.core import Entry, MemoryStorage, Snapshot
from py_raft.filestore import LOG, SNAPSHOT, CorruptStorage, FileStorage, FileStores, frame

State = tuple[Any, ...]


def state(s: FileStorage | MemoryStorage) -> State:
    return s.hard_state(), s.snapshot(), s.entries()


def entries(term: int, *cmds: str | None) -> list[Entry]:
    return [Entry(term, c, "" if c is None else f"v-{c}") for c in cmds]


# Each operation is synced on its own, so each is one record of the log file.
OPS: list[tuple[str, tuple[Any, ...]]] = [
    ("hard", (1, 0)),
    ("append", (1, entries(1, None, "a", "b"))),
    ("hard", (2, None)),
    ("append", (4, entries(2, "c", "dé"))),  # non-ASCII survives
    ("append", (3, entries(2, "x"))),  # a truncation: 3.. replaced
    ("hard", (3, 4)),
    ("append", (2, [])),  # a truncation alone
    ("append", (2, entries(3, "y", "z", None))),
]


def apply(s: FileStorage | MemoryStorage, op: tuple[str, tuple[Any, ...]]) -> None:
    kind, args = op
    if kind == "hard":
        s.set_hard_state(*args)
    else:
        s.truncate_and_append(*args)


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, list[int], list[State]]:
    """written: a node directory after OPS, each op's record end, and the state after each."""
    node = tmp_path / "node"
    store, model = FileStorage(node), MemoryStorage()
    ends, states = [0], [state(model)]
    for op in OPS:
        apply(store, op)
        apply(model, op)
        store.sync()
        ends.append((node / LOG).stat().st_size)
        states.append(state(model))
    store.close()
    return node, ends, states


def reopen(src: Path, dst: Path, damage: Any) -> FileStorage:
    """reopen copies a node directory, damages its log file, and opens a store over it."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    data = bytearray((dst / LOG).read_bytes())
    (dst / LOG).write_bytes(damage(data))
    return FileStorage(dst)


def test_round_trip_of_hard_state_and_log(written: tuple[Path, list[int], list[State]]) -> None:
    node, _, states = written
    store = FileStorage(node)
    assert state(store) == states[-1]
    assert store.hard_state() == (3, 4) and store.cut_bytes == 0
    assert [e.cmd for e in store.entries()] == [None, "y", "z", None]
    store.close()


def test_a_crash_at_every_offset_keeps_the_last_whole_record(
        written: tuple[Path, list[int], list[State]], tmp_path: Path) -> None:
    node, ends, states = written
    for cut in range(ends[-1] + 1):
        store = reopen(node, tmp_path / "cut", lambda d, cut=cut: d[:cut])
        whole = max(i for i, end in enumerate(ends) if end <= cut)
        assert state(store) == states[whole], f"cut at byte {cut}"
        assert store.cut_bytes == cut - ends[whole], f"cut at byte {cut}"
        # The torn tail is gone from the file too: appends follow the good records.
        store.truncate_and_append(*OPS[1][1])
        store.sync()
        store.close()
        again = FileStorage(tmp_path / "cut")
        assert again.cut_bytes == 0 and again.entries() == OPS[1][1][1], f"cut at byte {cut}"
        again.close()


def test_a_damaged_byte_ends_the_log_before_its_record(
        written: tuple[Path, list[int], list[State]], tmp_path: Path) -> None:
    node, ends, states = written
    for at in range(ends[-1]):
        def flip(d: bytearray, at: int = at) -> bytearray:
            d[at] ^= 0x5A
            return d
        store = reopen(node, tmp_path / "flip", flip)
        record = max(i for i, end in enumerate(ends) if end <= at)
        assert state(store) == states[record], f"damaged byte {at}"
        assert store.cut_bytes == ends[-1] - ends[record], f"damaged byte {at}"
        store.close()


def test_unsynced_writes_are_lost_in_a_crash(tmp_path: Path) -> None:
    store = FileStorage(tmp_path)
    store.set_hard_state(1, 1)
    store.truncate_and_append(1, entries(1, "a"))
    store.sync()
    store.set_hard_state(2, None)
    store.truncate_and_append(2, entries(2, "b"))
    store.close()  # a crash: nothing after the last sync reached the file
    again = FileStorage(tmp_path)
    assert again.hard_state() == (1, 1) and again.entries() == entries(1, "a")
    again.close()


def test_compaction_rewrites_the_log_and_round_trips(tmp_path: Path) -> None:
    store, model = FileStorage(tmp_path), MemoryStorage()
    for s in (store, model):
        s.set_hard_state(4, 2)
        s.truncate_and_append(1, entries(4, *"abcdefghij"))
    store.sync()
    before = (tmp_path / LOG).stat().st_size
    snap = Snapshot(7, 4, b"7\nc0.3\tv\n")
    for s in (store, model):
        s.save_snapshot(snap)
        s.truncate_and_append(10, entries(5, "k", "l"))  # a conflict after it, in one Ready
    store.sync()
    assert (tmp_path / LOG).stat().st_size < before
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOG, SNAPSHOT]
    store.close()
    again = FileStorage(tmp_path)
    assert state(again) == state(model)
    assert again.snapshot() == snap and [e.cmd for e in again.entries()] == ["h", "i", "k", "l"]
    # A second compaction that covers every entry, then more appends on top.
    again.save_snapshot(Snapshot(11, 5, b"11\n"))
    again.sync()
    again.truncate_and_append(12, entries(6, "m"))
    again.sync()
    again.close()
    last = FileStorage(tmp_path)
    assert last.snapshot() == Snapshot(11, 5, b"11\n") and last.entries() == entries(6, "m")
    assert last.hard_state() == (4, 2)
    last.close()


def test_a_crash_between_the_snapshot_and_the_log_rewrite(tmp_path: Path) -> None:
    """The new snapshot is in place, the old log still starts at 1: it is cut on open."""
    store = FileStorage(tmp_path)
    store.set_hard_state(3, None)
    store.truncate_and_append(1, entries(3, *"abcdef"))
    store.sync()
    store.close()
    body = (4).to_bytes(8, "little") + (3).to_bytes(8, "little") + b"4\n"
    (tmp_path / SNAPSHOT).write_bytes(frame(body))
    (tmp_path / "log.tmp").write_bytes(b"half a rewrite")
    again = FileStorage(tmp_path)
    assert again.snapshot() == Snapshot(4, 3, b"4\n")
    assert [e.cmd for e in again.entries()] == ["e", "f"]
    assert not (tmp_path / "log.tmp").exists()
    again.truncate_and_append(7, entries(3, "g"))  # appends after the snapshot
    again.sync()
    again.close()
    last = FileStorage(tmp_path)
    assert [e.cmd for e in last.entries()] == ["e", "f", "g"] and last.hard_state() == (3, None)
    last.close()


def test_a_damaged_snapshot_is_refused(tmp_path: Path) -> None:
    store = FileStorage(tmp_path)
    store.truncate_and_append(1, entries(1, "a", "b"))
    store.save_snapshot(Snapshot(2, 1, b"2\nc0.1\tx\n"))
    store.sync()
    store.close()
    data = bytearray((tmp_path / SNAPSHOT).read_bytes())
    data[-1] ^= 1
    (tmp_path / SNAPSHOT).write_bytes(data)
    with pytest.raises(CorruptStorage):
        FileStorage(tmp_path)


def test_a_log_that_skips_past_the_snapshot_is_refused(tmp_path: Path) -> None:
    """A gap between the snapshot and the log is no crash's doing: refused, not read."""
    store = FileStorage(tmp_path)
    store.truncate_and_append(1, entries(1, "a", "b", "c"))
    store.save_snapshot(Snapshot(1, 1, b"1\n"))
    store.sync()
    store.close()
    (tmp_path / SNAPSHOT).unlink()  # the log now starts at 2 with nothing before it
    with pytest.raises(CorruptStorage):
        FileStorage(tmp_path)


@pytest.mark.parametrize("seed", range(1, 21))
def test_random_operations_crashes_and_reopens_match_memory(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    store, durable = FileStorage(tmp_path), MemoryStorage()
    live = MemoryStorage()  # what the store holds before a crash
    term, base = 1, 0
    for step in range(300):
        roll = rng.random()
        last = base + len(live.entries())
        if roll < 0.45:
            first = rng.randint(base + 1, last + 1)
            new = entries(term, *(f"c{step}.{k}" for k in range(rng.randint(0, 3))))
            ops = [("append", (first, new))]
        elif roll < 0.6:
            term += rng.randint(0, 1)
            ops = [("hard", (term, rng.choice([None, 0, 1, 2])))]
        elif roll < 0.7 and last > base:
            index = rng.randint(base + 1, last)
            ops = [("snap", (Snapshot(index, term, f"{index}\n".encode()),))]
            base = index
        else:
            ops = []
        for op in ops:
            for s in (store, live):
                if op[0] == "snap":
                    s.save_snapshot(*op[1])
                else:
                    apply(s, op)
        if rng.random() < 0.7:
            store.sync()
            durable = _copy(live)
        if rng.random() < 0.1:
            store.close()  # a crash: whatever was not synced is lost
            store = FileStorage(tmp_path)
            assert state(store) == state(durable), f"seed {seed}, step {step}"
            live, base = _copy(durable), _base(durable)
            last_term = store.hard_state()[0]
            term = max(term, last_term)
    store.close()


def _base(s: MemoryStorage) -> int:
    snap = s.snapshot()
    return snap.last_included_index if snap is not None else 0


def _copy(s: MemoryStorage) -> MemoryStorage:
    out = MemoryStorage()
    snap = s.snapshot()
    if snap is not None:
        out.save_snapshot(snap)
    out.set_hard_state(*s.hard_state())
    out.truncate_and_append(_base(s) + 1, s.entries())
    return out


def test_file_stores_report_fsyncs_and_remove_their_directory(tmp_path: Path) -> None:
    stores = FileStores(str(tmp_path))
    store = stores.open(0)
    store.set_hard_state(1, 0)
    store.sync()
    store.close()
    summary = stores.summary()
    assert summary["count"] >= 1 and summary["p50"] is not None
    assert (stores.root / "node-0" / LOG).exists()
    stores.remove()
    assert not stores.root.exists() and tmp_path.exists()
