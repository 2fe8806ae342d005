"""Codemetrics: source lines and cyclomatic complexity of each implementation's parts.

Python is measured with radon (SLOC; McCabe complexity per function and method).
No Go tool is installed, so Go is measured by scanning, gocyclo-style: after
comments and string literals are removed, SLOC counts the non-blank lines and a
function's complexity is 1 plus its `if`, `for`, `case`, `&&` and `||`. Each
top-level `func` runs to the next one; nothing else at top level can branch.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from radon.complexity import cc_visit
from radon.raw import analyze

from bench.impls import ROOT

PY_PARTS = {
    "core": ["py_raft/core"],
    "threads runtime": ["py_raft/threads_rt.py"],
    "asyncio runtime": ["py_raft/asyncio_rt.py"],
    "shared layer": ["py_raft/host.py", "py_raft/client.py", "py_raft/faults.py",
                     "py_raft/cluster.py", "py_raft/realtime.py", "py_raft/scenario.py",
                     "py_raft/recorder.py"],
    "simulator": ["py_raft/sim"],
    "file storage": ["py_raft/filestore.py"],
    "TCP node": ["py_raft/node", "py_raft/wire.py"],
}
GO_CORE = "raft"
GO_SKIP = {"bin", "vendor", "testdata"}

_GO_STRIP = re.compile(
    r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|`[^`]*`|\'(?:\\.|[^\'\\\n])*\'', re.S)
_GO_BRANCH = re.compile(r"\b(?:if|for|case)\b|&&|\|\|")
_GO_FUNC = re.compile(r"^func\b", re.M)


@dataclass(frozen=True)
class PartMetrics:
    language: str
    part: str
    files: int
    sloc: int
    functions: int
    cc_total: int
    cc_mean: float
    cc_max: int


def _py_files(root: Path, paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in (root / x for x in paths):
        out += sorted(p.rglob("*.py")) if p.is_dir() else [p] if p.is_file() else []
    return out


def _part(language: str, part: str, files: int, sloc: int, cc: list[int]) -> PartMetrics:
    mean = sum(cc) / len(cc) if cc else 0.0
    return PartMetrics(language, part, files, sloc, len(cc), sum(cc), round(mean, 2),
                       max(cc, default=0))


def python_part(root: Path, part: str, paths: list[str]) -> PartMetrics | None:
    files = _py_files(root, paths)
    if not files:
        return None
    sloc, cc = 0, []
    for f in files:
        src = f.read_text(encoding="utf-8")
        sloc += analyze(src).sloc
        # cc_visit lists classes and, flattened beside them, every function and
        # method; a class's own score would count its methods twice.
        cc += [b.complexity for b in cc_visit(src) if not hasattr(b, "methods")]
    return _part("Python", part, len(files), sloc, cc)


def _strip_go(src: str) -> str:
    def blank(m: re.Match[str]) -> str:
        text = m.group(0)
        return '""' if text[0] in "\"`'" and "\n" not in text else "\n" * text.count("\n")
    return _GO_STRIP.sub(blank, src)


def go_source(src: str) -> tuple[int, list[int]]:
    """go_source: SLOC and the complexity of each top-level function of one Go file."""
    code = _strip_go(src)
    sloc = sum(1 for line in code.splitlines() if line.strip())
    starts = [m.start() for m in _GO_FUNC.finditer(code)]
    ends = [*starts[1:], len(code)] if starts else []
    bodies = [code[a:b] for a, b in zip(starts, ends, strict=True)]
    return sloc, [1 + len(_GO_BRANCH.findall(b)) for b in bodies]


def go_part(part: str, directory: Path) -> PartMetrics | None:
    files = sorted(f for f in directory.rglob("*.go") if not f.name.endswith("_test.go"))
    if not files:
        return None
    sloc, cc = 0, list[int]()
    for f in files:
        s, c = go_source(f.read_text(encoding="utf-8"))
        sloc, cc = sloc + s, cc + c
    return _part("Go", part, len(files), sloc, cc)


def _go_dirs(root: Path) -> list[tuple[str, Path]]:
    go = root / "go_raft"
    if not go.is_dir():
        return []
    dirs = sorted(d for d in go.iterdir() if d.is_dir() and d.name not in GO_SKIP
                  and not d.name.startswith("."))
    named = [("core" if d.name == GO_CORE else d.name, d) for d in dirs]
    return sorted(named, key=lambda nd: nd[0] != "core")


def code_metrics(root: Path = ROOT) -> list[PartMetrics]:
    """code_metrics: one row per part found; missing parts are skipped."""
    rows = [python_part(root, part, paths) for part, paths in PY_PARTS.items()]
    rows += [go_part(part, d) for part, d in _go_dirs(root)]
    return [r for r in rows if r is not None]
