"""Envinfo: the machine and software a run ran on (written as env.json).

`machine` identifies the hardware; `raftbench compare` refuses to compare runs
whose CPU, core count, memory (beyond 5%), Python or Go differ
(`machine_differences`), since their numbers are not comparable.
"""

import os
import platform
import shutil
import socket
import subprocess
import sys
from importlib import metadata
from typing import Any

import psutil

from bench.impls import GO_BINARY, ROOT

PACKAGES = ("typer", "rich", "pandas", "numpy", "scipy", "matplotlib", "psutil", "radon", "uvloop")


def _cmd(argv: list[str]) -> str | None:
    if not shutil.which(argv[0]):
        return None
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, cwd=ROOT)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "cores_logical": psutil.cpu_count(logical=True),
        "cores_physical": psutil.cpu_count(logical=False),
        "memory_bytes": psutil.virtual_memory().total,
    }


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _git() -> dict[str, Any]:
    # --no-optional-locks: `git status` must not rewrite the index of a shared checkout.
    status = _cmd(["git", "--no-optional-locks", "status", "--porcelain"])
    return {"commit": _cmd(["git", "rev-parse", "HEAD"]),
            "dirty": None if status is None else bool(status)}


def collect() -> dict[str, Any]:
    """collect describes this machine and its software now."""
    return {
        "machine": machine(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "go": _cmd(["go", "version"]),
        "goraft_built": GO_BINARY.exists(),
        "GOMAXPROCS": os.environ.get("GOMAXPROCS"),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "packages": _versions(),
        "git": _git(),
    }


# What makes two runs' numbers comparable: the same CPU, as many cores, the same
# Python and Go. The hostname is not compared (a renamed or re-imaged machine is the
# same machine); memory may differ by MEMORY_TOLERANCE (firmware reserves vary).
MACHINE_FIELDS = ("cpu_model", "cores_logical", "cores_physical")
SOFTWARE_FIELDS = ("cpus_usable", "python", "python_implementation", "go")
MEMORY_TOLERANCE = 0.05


def machine_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """machine_differences: "field: a vs b" for each way the env.json a and b differ
    in what makes runs comparable; empty when they match. A field one of them lacks
    (an older env.json) is not compared; a missing machine is a difference."""
    ma, mb = a.get("machine"), b.get("machine")
    if not isinstance(ma, dict) or not isinstance(mb, dict):
        return ["machine: " + " vs ".join("known" if isinstance(m, dict) else "unknown"
                                          for m in (ma, mb))]
    out = [f"{k}: {ma[k]} vs {mb[k]}" for k in MACHINE_FIELDS
           if k in ma and k in mb and ma[k] != mb[k]]
    mem_a, mem_b = ma.get("memory_bytes"), mb.get("memory_bytes")
    if isinstance(mem_a, int | float) and isinstance(mem_b, int | float) and (
            abs(mem_a - mem_b) > MEMORY_TOLERANCE * max(mem_a, mem_b)):
        out.append(f"memory_bytes: {mem_a} vs {mem_b} (more than "
                   f"{MEMORY_TOLERANCE:.0%} apart)")
    out += [f"{k}: {a[k]} vs {b[k]}" for k in SOFTWARE_FIELDS
            if k in a and k in b and a[k] != b[k]]
    return out


def same_machine(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return not machine_differences(a, b)


def render(info: dict[str, Any], console: Any) -> None:
    """render prints env info as an aligned two-column table."""
    from rich.table import Table

    t = Table(show_header=False, box=None)
    for k, v in info.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a}={b}" for a, b in v.items())
        t.add_row(k, str(v))
    console.print(t)
