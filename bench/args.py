"""Args: parse and check the user's choices before anything is written.

Every check raises `ArgError` with one line that names the option and the value;
the CLI prints it and exits 2. Lists are comma-separated ("3,5,9") or repeated.
"""

from collections.abc import Iterable
from enum import Enum

from bench.impls import ALL_IMPLS, Impl, default_impls, unavailable
from bench.presets import SCENARIOS, Workload

MAX_NODES = 100_000  # docs/protocol.md


class ArgError(ValueError):
    """ArgError is bad user input; its message is one line naming the option."""


def split(items: Iterable[str] | None) -> list[str]:
    """split flattens repeated and comma-separated values: ["a,b", "c"] -> [a, b, c]."""
    return [p.strip() for item in items or [] for p in item.split(",") if p.strip()]


def choices(option: str, items: list[str], enum: type[Enum]) -> list[str]:
    allowed = [str(e.value) for e in enum]
    for item in items:
        if item not in allowed:
            raise ArgError(f"{option}: unknown value {item!r} (choose from {', '.join(allowed)})")
    return list(dict.fromkeys(items))  # keep order, drop repeats


def impls(items: list[str] | None) -> tuple[list[str], dict[str, str]]:
    """impls: the implementations to run and those left out because they cannot run.

    Named explicitly, an implementation that cannot run is an error; by default it
    is left out (the caller warns).
    """
    names = split(items)
    if not names:
        return default_impls()
    names = choices("--impl", names, Impl)
    missing = unavailable(names)
    if missing:
        name, why = next(iter(missing.items()))
        raise ArgError(f"--impl {name}: unavailable: {why}")
    return names, {}


def scenarios(items: list[str] | None, default: tuple[str, ...]) -> list[str]:
    names = split(items)
    return choices("--scenario", names, Workload) if names else list(default)


def sizes(items: list[str] | None, minimum: int) -> list[int] | None:
    """sizes: cluster sizes, each an integer from `minimum` to MAX_NODES."""
    raw = split(items)
    if not raw:
        return None
    out = []
    for s in raw:
        try:
            n = int(s)
        except ValueError:
            raise ArgError(f"--sizes: {s!r} is not an integer") from None
        if not minimum <= n <= MAX_NODES:
            raise ArgError(f"--sizes: {n} is out of range ({minimum} to {MAX_NODES})")
        out.append(n)
    return sorted(set(out))


def positive(option: str, value: float | None) -> None:
    if value is not None and value <= 0:
        raise ArgError(f"{option}: must be positive, got {value:g}")


def memory_cap(value: float | None) -> None:
    """memory_cap: a driver's memory cap in MB, from 64 MB to this machine's memory."""
    if value is None:
        return
    import psutil

    total_mb = psutil.virtual_memory().total / 2**20
    if not 64 <= value <= total_mb:
        raise ArgError(f"--memory-cap: must be between 64 and {total_mb:.0f} MB "
                       f"(this machine's memory), got {value:g}")


__all__ = ["ALL_IMPLS", "SCENARIOS", "ArgError", "choices", "impls", "memory_cap", "positive",
           "scenarios", "sizes", "split"]
