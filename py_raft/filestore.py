"""FileStorage: a node's persistent state in files, durable once `sync` returns.

The host persists a Ready (snapshot, hard state, log change), calls `sync`,
and only then sends; so one fsync per Ready, at the end of the persist step,
is what makes every vote and acknowledgement safe to give.

Theory of operation (the format is docs/protocol.md's, "Snapshots and storage"):

* `log` is an append-only file of records. A record is framed as
  `length (u32 LE) | crc32 of the body (u32 LE, zlib's, IEEE) | body`, and its
  body's first byte is its kind:
  - 1, hard state: `current_term u64 | voted_for i64 (-1: none)`, the last one wins;
  - 2, append: `first_index u64 | count u32 | count entries`, each
    `term u64 | cmd length i32 (-1: null) | cmd | payload length u32 | payload`
    (UTF-8). It is `truncate_and_append` itself: every entry at or after
    first_index goes, then these follow; so a truncation is a record too,
    and a record, written whole or not at all, is one atomic change.
* `snapshot` holds one record, `last_included_index u64 | last_included_term
  u64 | data`. It is replaced atomically: written to `snapshot.tmp`, fsynced,
  renamed over, and the directory fsynced.
* Compaction rewrites the log the same way (`log.tmp`: the hard state and the
  entries after the snapshot), after the snapshot's rename is durable, so
  the files never grow without bound. A crash between the two renames leaves
  the new snapshot and the old log, whose entries at or below the snapshot's
  index are dropped on open (they are in the snapshot).
* On open, records are read until the first that is cut short or fails its
  checksum (a torn write, or corruption): the file is truncated there, with a
  warning, and nothing after it is ever read. A record that checks out but
  cannot be (an append that leaves a gap), or a damaged snapshot, whose log
  prefix may be gone already, raises `CorruptStorage` instead.

What was read is kept in a `MemoryStorage` mirror, which answers every read.
"""

import logging
import os
import shutil
import struct
import tempfile
import time
import zlib
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from py_raft.core import Entry, MemoryStorage, Snapshot
from py_raft.recorder import percentile

_log = logging.getLogger("py_raft.filestore")

HARD_STATE, APPEND = 1, 2
_HEADER = struct.Struct("<II")  # body length, crc32 of the body
_HARD = struct.Struct("<BQq")  # kind, current_term, voted_for (-1: none)
_APPEND = struct.Struct("<BQI")  # kind, first_index, count
_ENTRY = struct.Struct("<Qi")  # term, cmd length (-1: null)
_U32 = struct.Struct("<I")
_SNAP = struct.Struct("<QQ")  # last_included_index, last_included_term
LOG, SNAPSHOT = "log", "snapshot"


class CorruptStorage(Exception):
    """CorruptStorage: the files hold a state no crash can leave; they are not read."""


def frame(body: bytes) -> bytes:
    return _HEADER.pack(len(body), zlib.crc32(body)) + body


def hard_state_record(term: int, voted_for: int | None) -> bytes:
    return frame(_HARD.pack(HARD_STATE, term, -1 if voted_for is None else voted_for))


def append_record(first_index: int, entries: Sequence[Entry]) -> bytes:
    parts = [_APPEND.pack(APPEND, first_index, len(entries))]
    for e in entries:
        if e.cmd is None:
            parts.append(_ENTRY.pack(e.term, -1))
        else:
            cmd = e.cmd.encode()
            parts += (_ENTRY.pack(e.term, len(cmd)), cmd)
        payload = e.payload.encode()
        parts += (_U32.pack(len(payload)), payload)
    return frame(b"".join(parts))


def read_records(data: bytes) -> tuple[list[bytes], int]:
    """read_records splits data into record bodies; it also returns where the good ones end."""
    bodies, at, end = [], 0, len(data)
    while at + _HEADER.size <= end:
        length, crc = _HEADER.unpack_from(data, at)
        start = at + _HEADER.size
        if start + length > end:
            break
        body = data[start : start + length]
        if zlib.crc32(body) != crc:
            break
        bodies.append(body)
        at = start + length
    return bodies, at


class _Replay:
    """_Replay rebuilds the hard state and the log from the log file's records."""

    def __init__(self) -> None:
        self.hard: tuple[int, int | None] = (0, None)
        self.start = 0  # the index of entries[0]; 0 until an append says
        self.entries: list[Entry] = []
        self._payload = ("", b"")  # the last payload decoded: drivers repeat one

    def record(self, body: bytes) -> bool:
        """record applies one record; False if it does not decode (the log ends there)."""
        try:
            if body[0] == HARD_STATE and len(body) == _HARD.size:
                _, term, vote = _HARD.unpack(body)
                self.hard = (term, None if vote < 0 else vote)
                return True
            if body[0] == APPEND:
                first, entries = self._decode_append(body)
                self._append(first, entries)
                return True
        except (struct.error, UnicodeDecodeError, IndexError):
            pass
        return False

    def _decode_append(self, body: bytes) -> tuple[int, list[Entry]]:
        _, first, count = _APPEND.unpack_from(body, 0)
        at, entries = _APPEND.size, []
        for _ in range(count):
            term, n = _ENTRY.unpack_from(body, at)
            at += _ENTRY.size
            cmd = None
            if n >= 0:
                cmd = body[at : at + n].decode()
                at += n
            (n,) = _U32.unpack_from(body, at)
            raw = body[at + _U32.size : at + _U32.size + n]
            if len(raw) != n:
                raise struct.error("a payload runs past its record")
            at += _U32.size + n
            if raw != self._payload[1]:
                self._payload = (raw.decode(), raw)
            entries.append(Entry(term, cmd, self._payload[0]))
        if at != len(body):
            raise struct.error("bytes after a record's last entry")
        return first, entries

    def _append(self, first: int, entries: list[Entry]) -> None:
        if not self.entries:
            self.start = first  # an empty log starts where its next append does
        elif not self.start <= first <= self.start + len(self.entries):
            raise CorruptStorage(f"an append at {first} leaves a gap after "
                                 f"{self.start + len(self.entries) - 1}")
        del self.entries[first - self.start :]
        self.entries.extend(entries)


class FileStorage:
    """FileStorage implements SnapshotStorage over the files of one node's directory.

    One object per (re)start: a restarted node gets a new one over the same
    directory, so that what it reads back is what reached the disk.
    """

    def __init__(self, path: str | Path, fsync_ns: "array[int] | None" = None) -> None:
        self.path = Path(path)
        self.fsync_ns = fsync_ns  # each fsync's duration, when the driver reports them
        self.cut_bytes = 0  # the torn or corrupt tail cut off the log at open
        self._pending = bytearray()  # records written since the last sync
        self._snapshot_due = False  # a new snapshot (and a log rewrite) awaits sync
        self.path.mkdir(parents=True, exist_ok=True)
        for tmp in self.path.glob("*.tmp"):
            tmp.unlink()  # an atomic replace that a crash interrupted
        self.mirror = MemoryStorage()
        snap = self._load_snapshot()
        if snap is not None:
            self.mirror.save_snapshot(snap)
        replay = self._replay_log()
        self.mirror.set_hard_state(*replay.hard)
        base = snap.last_included_index if snap is not None else 0
        self.mirror.truncate_and_append(base + 1, _after(replay, base))
        new_log = not (self.path / LOG).exists()
        self._fd = os.open(self.path / LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if new_log:
            self._fsync_dir()
        elif replay.start not in (0, base + 1):
            # A crash came between a compaction's two renames: the old log
            # still starts below the snapshot. Rewritten now, so that the
            # appends to come follow on from the snapshot in the file too.
            self._rewrite_log()

    # ---- reads: the mirror --------------------------------------------------------------

    def hard_state(self) -> tuple[int, int | None]:
        return self.mirror.hard_state()

    def entries(self) -> list[Entry]:
        return self.mirror.entries()

    def snapshot(self) -> Snapshot | None:
        return self.mirror.snapshot()

    # ---- writes: the mirror now, the files at sync ----------------------------------------

    def set_hard_state(self, current_term: int, voted_for: int | None) -> None:
        self.mirror.set_hard_state(current_term, voted_for)
        self._pending += hard_state_record(current_term, voted_for)

    def truncate_and_append(self, first_index: int, entries: Sequence[Entry]) -> None:
        self.mirror.truncate_and_append(first_index, entries)
        self._pending += append_record(first_index, entries)

    def save_snapshot(self, snapshot: Snapshot) -> None:
        self.mirror.save_snapshot(snapshot)
        self._snapshot_due = True

    def sync(self) -> None:
        """sync makes every write so far durable: the host calls it before it sends."""
        if self._snapshot_due:
            self._compact()
        elif self._pending:
            os.write(self._fd, self._pending)
            self._fsync(self._fd, data_only=True)
        self._pending.clear()

    def close(self) -> None:
        """close lets go of the files; writes not synced are lost, as in a crash."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # ---- the files ------------------------------------------------------------------------

    def _load_snapshot(self) -> Snapshot | None:
        try:
            data = (self.path / SNAPSHOT).read_bytes()
        except FileNotFoundError:
            return None
        bodies, end = read_records(data)
        if len(bodies) != 1 or end != len(data) or len(bodies[0]) < _SNAP.size:
            raise CorruptStorage(f"{self.path / SNAPSHOT}: damaged")
        index, term = _SNAP.unpack_from(bodies[0])
        return Snapshot(index, term, bodies[0][_SNAP.size :])

    def _replay_log(self) -> _Replay:
        replay = _Replay()
        try:
            data = (self.path / LOG).read_bytes()
        except FileNotFoundError:
            return replay
        end = 0
        for body in read_records(data)[0]:
            if not replay.record(body):
                break
            end += _HEADER.size + len(body)
        if end < len(data):
            self.cut_bytes = len(data) - end
            _log.warning("%s: cut a torn or corrupt tail of %d bytes at offset %d",
                         self.path / LOG, self.cut_bytes, end)
            with open(self.path / LOG, "r+b") as f:
                f.truncate(end)
                self._fsync(f.fileno())
        return replay

    def _compact(self) -> None:
        """_compact writes the new snapshot, then the log that follows it, each atomically."""
        snap = self.mirror.snapshot()
        assert snap is not None
        body = _SNAP.pack(snap.last_included_index, snap.last_included_term) + snap.data
        self._replace(SNAPSHOT, frame(body))
        self._rewrite_log()
        self._snapshot_due = False

    def _rewrite_log(self) -> None:
        """_rewrite_log replaces the log file: the hard state, the entries after the snapshot."""
        snap = self.mirror.snapshot()
        log = hard_state_record(*self.mirror.hard_state())
        entries = self.mirror.entries()
        if entries:
            log += append_record((snap.last_included_index if snap else 0) + 1, entries)
        os.close(self._fd)
        self._replace(LOG, log)
        self._fd = os.open(self.path / LOG, os.O_WRONLY | os.O_APPEND)

    def _replace(self, name: str, data: bytes) -> None:
        tmp = self.path / (name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            self._fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path / name)
        self._fsync_dir()  # the rename is durable before anything that relies on it

    def _fsync_dir(self) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            self._fsync(fd)
        finally:
            os.close(fd)

    def _fsync(self, fd: int, data_only: bool = False) -> None:
        start = time.perf_counter_ns()
        if data_only and hasattr(os, "fdatasync"):
            os.fdatasync(fd)  # an append: the size is flushed, the times need not be
        else:
            os.fsync(fd)
        if self.fsync_ns is not None:
            self.fsync_ns.append(time.perf_counter_ns() - start)


def _after(replay: _Replay, base: int) -> list[Entry]:
    """_after is the replayed log past the snapshot at base; a gap before it is corruption."""
    if not replay.entries:
        return []
    if replay.start > base + 1:
        raise CorruptStorage(f"the log starts at {replay.start}, after the snapshot at {base}")
    return replay.entries[base + 1 - replay.start :]


class FileStores:
    """FileStores: the file storage of one trial's nodes, in a fresh directory.

    The directory is made inside `parent` (None: the system's temporary
    directory) and removed by `remove`; each node keeps `node-<id>/` in it.
    """

    def __init__(self, parent: str | None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="raftbench-", dir=parent))
        self.fsync_ns: array[int] = array("q")

    def open(self, node: int) -> FileStorage:
        return FileStorage(self.root / f"node-{node}", self.fsync_ns)

    def summary(self) -> dict[str, Any]:
        """summary is the result's `fsync_us`: count and nearest-rank p50, p99, max."""
        us = sorted(round(ns / 1000, 3) for ns in self.fsync_ns)
        if not us:
            return {"count": 0, "p50": None, "p99": None, "max": None}
        return {"count": len(us), "p50": percentile(us, 50), "p99": percentile(us, 99),
                "max": us[-1]}

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
