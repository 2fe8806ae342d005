"""Measure: run one trial in a fresh driver process and measure it from outside.

Why from outside: the drivers measure themselves too (`runtime` in their result),
but a hung or crashed driver reports nothing, and the outside view is the same
instrument for every language. The child is polled with psutil every `poll_s`
(peak RSS, peak OS threads); CPU times and the kernel's own peak RSS come from
`os.wait4`, which reaps the child and returns its rusage exactly once. A helper
thread blocks in `wait4`, so wall time ends at the exit, not at the next poll.
"""

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.impls import Driver

STDERR_TAIL_CHARS = 2000


@dataclass
class Outcome:
    exit_code: int | None  # None: killed by the harness (timed out)
    timed_out: bool
    stdout: str
    stderr_tail: str
    wall_s: float
    cpu_user_s: float
    cpu_sys_s: float
    rss_peak_kb: int  # polled peak RSS (VmHWM on Linux)
    threads_peak: int  # polled; a thread living under 10 ms can be missed
    polls: int
    ru_maxrss_kb: int  # raw, for the record; inflated by the spawner (see _proc_status)
    over_memory: bool = False  # killed for passing the memory cap

    def outside(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("exit_code", "timed_out", "stdout", "stderr_tail", "over_memory"):
            d.pop(k)
        return d


class _Reaper(threading.Thread):
    """_Reaper blocks in wait4 for one pid and keeps the status and rusage."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.done = threading.Event()
        self.status = 0
        self.rusage: Any = None
        self.end = 0.0

    def run(self) -> None:
        _, self.status, self.rusage = os.wait4(self.pid, 0)
        self.end = time.perf_counter()
        self.done.set()


def _proc_status(pid: int) -> tuple[int, int] | None:
    """_proc_status: (VmHWM KiB, threads) from Linux /proc, or None elsewhere.

    VmHWM is the peak RSS of the process image since exec, so a spike between two
    polls still counts. ru_maxrss cannot be used: at exec Linux folds the peak of
    the replaced image (the harness itself, when spawned by vfork) into it.
    """
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        return int(fields["VmHWM"].split()[0]), int(fields["Threads"])
    except (OSError, KeyError, ValueError):
        return None


def _sample(ps: psutil.Process) -> tuple[int, int]:
    linux = _proc_status(ps.pid)
    if linux is not None:
        return linux
    try:
        with ps.oneshot():
            return ps.memory_info().rss // 1024, ps.num_threads()
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return 0, 0


def _kill_group(pid: int) -> None:
    # The driver runs in its own session, so this also ends anything it spawned.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _tail(f: Any) -> str:
    f.seek(0)
    text: str = f.read().decode("utf-8", "replace")
    return text[-STDERR_TAIL_CHARS:]


def run_driver(
    driver: Driver,
    scenario: dict[str, Any],
    timeout_s: float,
    trace: Path | None = None,
    poll_s: float = 0.01,
    memory_cap_kb: int = 0,
) -> Outcome:
    """run_driver runs one driver process to its end or until timeout_s, then kills it.

    A driver whose peak RSS passes memory_cap_kb (0: no cap) is killed at the
    next poll, so no trial can take the machine down.
    """
    with tempfile.TemporaryDirectory(prefix="raftbench-") as tmp:
        sc_path = Path(tmp) / "scenario.json"
        sc_path.write_text(json.dumps(scenario), encoding="utf-8")
        argv = [*driver.argv, "--scenario", str(sc_path)]
        if trace is not None:
            argv += ["--trace", str(trace)]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            return _run(argv, os.environ | driver.env, out, err, timeout_s, poll_s,
                        memory_cap_kb)


def _run(argv: list[str], env: dict[str, str], out: Any, err: Any,
         timeout_s: float, poll_s: float, memory_cap_kb: int = 0) -> Outcome:
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                env=env, start_new_session=True)
    except OSError as e:  # recorded as a failed trial; 127 as a shell says "not found"
        return Outcome(127, False, "", f"cannot start {argv[0]}: {e}", 0.0, 0.0, 0.0, 0, 0, 0, 0)
    ps = psutil.Process(proc.pid)  # before the reaper runs: the pid stays ours till then
    reaper = _Reaper(proc.pid)
    reaper.start()
    rss = threads = polls = 0
    timed_out = over_memory = False
    try:
        while not reaper.done.wait(poll_s):
            r, t = _sample(ps)
            rss, threads, polls = max(rss, r), max(threads, t), polls + 1
            if memory_cap_kb and rss > memory_cap_kb and not over_memory:
                over_memory = True
                _kill_group(proc.pid)
            elif time.perf_counter() - start > timeout_s and not timed_out:
                timed_out = True
                _kill_group(proc.pid)
    finally:
        if not reaper.done.is_set():  # interrupted (Ctrl-C): leave no orphan behind
            _kill_group(proc.pid)
            reaper.done.wait()
    proc.returncode = os.waitstatus_to_exitcode(reaper.status)  # already reaped
    ru = reaper.rusage
    out.seek(0)
    return Outcome(
        exit_code=None if timed_out or over_memory else proc.returncode,
        timed_out=timed_out,
        stdout=out.read().decode("utf-8", "replace"),
        stderr_tail=_tail(err),
        wall_s=reaper.end - start,
        cpu_user_s=ru.ru_utime,
        cpu_sys_s=ru.ru_stime,
        rss_peak_kb=rss,
        threads_peak=threads,
        polls=polls,
        ru_maxrss_kb=int(ru.ru_maxrss),
        over_memory=over_memory,
    )
