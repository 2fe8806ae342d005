"""merge: the nodes' trace files and the launcher's faults, as one trace ordered by time."""

import heapq
import json
from collections.abc import Iterator
from pathlib import Path


def _lines(path: Path) -> Iterator[tuple[float, str]]:
    """_lines yields a file's complete lines with their t_ms; a SIGKILL may cut the last."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                return
            yield json.loads(line)["t_ms"], line


def merged(paths: list[Path]) -> Iterator[str]:
    """merged yields the lines of every file by t_ms; ties keep the files' order (each
    file is in time order, being written by one thread)."""
    for _, line in heapq.merge(*(_lines(p) for p in paths if p.exists()),
                               key=lambda x: x[0]):
        yield line
