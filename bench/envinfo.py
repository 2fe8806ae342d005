"""Envinfo: the machine and software a run ran on (written as env.json).

`machine` identifies the hardware; `raftbench compare` refuses to compare runs
whose machines differ, since their numbers are not comparable.
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


def same_machine(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(a.get("machine")) and a.get("machine") == b.get("machine")


def render(info: dict[str, Any], console: Any) -> None:
    """render prints env info as an aligned two-column table."""
    from rich.table import Table

    t = Table(show_header=False, box=None)
    for k, v in info.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a}={b}" for a, b in v.items())
        t.add_row(k, str(v))
    console.print(t)
