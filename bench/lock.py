"""Lock: one writer per run directory.

`raftbench run` (new or --resume) and `raftbench report` hold an exclusive OS lock
(flock) on RUN_DIR/.lock while they write, so two of them never interleave lines in
results.jsonl or remake a report from a half-written run. The lock file holds the
pid of its holder, for the message. An OS lock ends with its process, so a run
killed with SIGKILL (or a power cut) leaves a .lock file that blocks nothing.
"""

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from bench.store import StoreError

LOCK = ".lock"


def _holder(fd: int) -> str:
    """_holder names the process in the lock file, as far as it has written it."""
    try:
        pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        pid = ""
    return f"raftbench pid {pid}" if pid.isdigit() else "another raftbench process"


@contextlib.contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """run_lock holds RUN_DIR/.lock, or raises StoreError when another process holds it."""
    try:
        fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise StoreError(f"RUN_DIR: {path}: cannot open {LOCK}: {e.strerror}") from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(f"RUN_DIR: {path} is in use by {_holder(fd)}") from None
        except OSError as e:
            raise StoreError(f"RUN_DIR: {path}: cannot lock {LOCK}: {e.strerror}") from e
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # released: no pid left behind to mislead
    finally:
        os.close(fd)  # closing the last descriptor releases the lock
