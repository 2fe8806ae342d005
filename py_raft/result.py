"""The result object every driver prints (docs/protocol.md, "Result")."""

import platform
import resource
import sys
from typing import Any

from py_raft import __version__
from py_raft.recorder import Recorder
from py_raft.scenario import Scenario


def _status_kb(field: str) -> int | None:
    """_status_kb: one "kB" field of Linux's /proc/self/status, None where unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_kb() -> int:
    """peak_rss_kb is this process's peak resident set (VmHWM).

    ru_maxrss is not used where /proc exists: Linux carries it across exec,
    so a driver spawned by a large harness would report the harness's peak.
    """
    peak = _status_kb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def process_usage() -> dict[str, Any]:
    """process_usage is this process's CPU time and peak RSS so far."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu_user_s": round(ru.ru_utime, 6),
        "cpu_sys_s": round(ru.ru_stime, 6),
        "max_rss_kb": peak_rss_kb(),
    }


def versions(extra: dict[str, str] | None = None) -> dict[str, str]:
    out = {"python": platform.python_version(), "py_raft": __version__,
           "implementation": sys.implementation.name}
    out.update(extra or {})
    return out


def verdict(sc: Scenario, recorder: Recorder, error: str | None, failovers_done: int
            ) -> tuple[bool, str | None]:
    """verdict decides `ok`: the scenario finished and no safety rule broke."""
    if recorder.violation is not None:
        return False, recorder.violation
    if error is not None:
        return False, error
    if recorder.first_leader_us is None:
        return False, "no leader elected"
    if sc.kind == "failover" and failovers_done < sc.failovers:
        return False, f"only {failovers_done} of {sc.failovers} failovers completed"
    return True, None


def build_result(
    impl: str,
    sc: Scenario,
    recorder: Recorder,
    error: str | None,
    failovers_done: int,
    window_us: int,
    elapsed_us: int,
    messages: tuple[int, int],
    runtime: dict[str, Any],
    extra_versions: dict[str, str] | None = None,
) -> dict[str, Any]:
    ok, err = verdict(sc, recorder, error, failovers_done)
    return {
        "impl": impl,
        "ok": ok,
        "error": err,
        "scenario": sc.to_json(),
        "metrics": recorder.metrics(elapsed_us, window_us, messages),
        "runtime": runtime,
        "versions": versions(extra_versions),
    }

