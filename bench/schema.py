"""Schema: what one results.jsonl record must hold, checked as every line is read.

`problem(record)` is None for a record that every reader (analyze, headline,
report, compare, the runner's resume) can use without a KeyError or a
TypeError, else one short reason ("no 'ok'", "'key.n' is a string, expected an
integer"). `store.load_records` prefixes it with `file:line`.

The record is what `store.make_record` writes:

    format      FORMAT_VERSION
    key         {impl, scenario, n, variant, trial}  (a TrialKey, nothing else)
    warmup, ok  true or false
    outside     the harness's measurements: wall_s, cpu_user_s, cpu_sys_s,
                rss_peak_kb, threads_peak (numbers), polls, ru_maxrss_kb
    result      the driver's result object, or null when it printed none
    failure, exit_code, timed_out, stderr_tail, scenario, finished   (optional)

A measured trial whose metrics `bench.analyze` reads (one that succeeded, or
a failover trial that timed some failovers before its limit) must carry the
metrics of its scenario; a metric may be null (not measured) unless the
analysis does arithmetic with it.
"""

from typing import Any

from bench import FORMAT_VERSION

KEY_FIELDS: dict[str, type] = {"impl": str, "scenario": str, "n": int, "variant": str,
                               "trial": int}
OUTSIDE_REQUIRED = ("wall_s", "cpu_user_s", "cpu_sys_s", "rss_peak_kb", "threads_peak")
OUTSIDE_OPTIONAL = ("polls", "ru_maxrss_kb")
RUNTIME_OPTIONAL = ("cpu_trial_s", "max_rss_kb", "tasks_peak", "goroutines_peak")

# Per scenario: the metrics analyze reads, each "num?" (a number or null), "num" (a
# number: the analysis computes with it), "list" (numbers or nulls) or "obj?" (an
# object or null, with the keys listed in OBJECT_KEYS when it is not empty).
_ELECTION = {"first_leader_ms": "num?", "term_changes_after_leader": "num?",
             "elections": "num?"}
METRICS: dict[str, dict[str, str]] = {
    "election": _ELECTION,
    "scale": {**_ELECTION, "messages_sent": "num", "messages_dropped": "num"},
    "failover": {"failover_ms": "list"},
    "replication": {"throughput_ops_s": "num?", "committed": "num?",
                    "commit_latency_ms": "obj?"},
    "capacity": {"throughput_ops_s": "num?", "committed": "num?",
                 "commit_latency_ms": "obj?"},
}
OPTIONAL_METRICS: dict[str, dict[str, str]] = {
    "scale": {"inbox_dropped": "num", "heartbeat_gap_ms": "obj?"},
}
OBJECT_KEYS = {"commit_latency_ms": ("p50", "p99"), "heartbeat_gap_ms": ("p99", "max")}

_OPTIONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "failure": ("str", "null"), "exit_code": ("int", "null"), "timed_out": ("bool",),
    "stderr_tail": ("str",), "scenario": ("obj", "null"), "finished": ("str",),
}


def kind(value: Any) -> str:
    """kind: the JSON type of a value, in words ("a string", "an array", "null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is(value: Any, t: str) -> bool:
    if t == "null":
        return value is None
    if t == "bool":
        return isinstance(value, bool)
    if t == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "num":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if t == "str":
        return isinstance(value, str)
    if t == "obj":
        return isinstance(value, dict)
    if t == "list":
        return isinstance(value, list)
    raise ValueError(t)


_WORDS = {"null": "null", "bool": "true or false", "int": "an integer", "num": "a number",
          "str": "a string", "obj": "an object", "list": "an array"}


def _expect(name: str, value: Any, *types: str) -> str | None:
    if any(_is(value, t) for t in types):
        return None
    want = " or ".join(_WORDS[t] for t in types)
    return f"'{name}' is {kind(value)}, expected {want}"


def problem(rec: Any) -> str | None:
    """problem: why rec is not a usable results.jsonl record, or None when it is."""
    if not isinstance(rec, dict):
        return f"not a JSON record: {kind(rec)}, expected an object"
    if rec.get("format") != FORMAT_VERSION:
        return f"format {rec.get('format')}, expected {FORMAT_VERSION}"
    why = _fields(rec)
    return None if why is None else f"bad record: {why}"


def _fields(rec: dict[str, Any]) -> str | None:
    for name in ("key", "warmup", "ok", "outside", "result"):
        if name not in rec:
            return f"no '{name}'"
    return (_key(rec["key"]) or _expect("warmup", rec["warmup"], "bool")
            or _expect("ok", rec["ok"], "bool") or _outside(rec["outside"])
            or _optional(rec) or _result(rec))


def _key(key: Any) -> str | None:
    if (err := _expect("key", key, "obj")) is not None:
        return err
    for name, t in KEY_FIELDS.items():
        if name not in key:
            return f"no 'key.{name}'"
        if (err := _expect(f"key.{name}", key[name], "int" if t is int else "str")):
            return err
    extra = sorted(set(key) - set(KEY_FIELDS))
    if extra:
        return f"unknown field 'key.{extra[0]}'"
    if key["n"] < 1 or key["trial"] < 0:
        return f"key.n {key['n']}, key.trial {key['trial']} out of range"
    return None


def _outside(out: Any) -> str | None:
    if (err := _expect("outside", out, "obj")) is not None:
        return err
    for name in OUTSIDE_REQUIRED:
        if name not in out:
            return f"no 'outside.{name}'"
        if (err := _expect(f"outside.{name}", out[name], "num")):
            return err
    for name in OUTSIDE_OPTIONAL:
        if name in out and (err := _expect(f"outside.{name}", out[name], "num", "null")):
            return err
    return None


def _optional(rec: dict[str, Any]) -> str | None:
    for name, types in _OPTIONAL_FIELDS.items():
        if name in rec and (err := _expect(name, rec[name], *types)):
            return err
    return None


def _metrics_read(rec: dict[str, Any]) -> bool:
    """_metrics_read: whether bench.analyze reads this record's result metrics."""
    if rec["warmup"]:
        return False
    if rec["ok"]:
        return True
    return (rec["key"]["scenario"] == "failover" and bool(rec["result"])
            and rec.get("exit_code") == 0)


def _result(rec: dict[str, Any]) -> str | None:
    res = rec["result"]
    if (err := _expect("result", res, "obj", "null")) is not None:
        return err
    if not _metrics_read(rec):
        return None
    if res is None:
        return "'result' is null in a trial that succeeded"
    runtime = res.get("runtime")
    if (err := _expect("result.runtime", runtime, "obj", "null")) is not None:
        return err
    for name in RUNTIME_OPTIONAL:
        if runtime and name in runtime and (
                err := _expect(f"result.runtime.{name}", runtime[name], "num", "null")):
            return err
    if "metrics" not in res:
        return "no 'result.metrics'"
    metrics = res["metrics"]
    if (err := _expect("result.metrics", metrics, "obj")) is not None:
        return err
    scenario = rec["key"]["scenario"]
    for name, t in METRICS.get(scenario, {}).items():
        if name not in metrics:
            return f"no 'result.metrics.{name}' ({scenario})"
        if (err := _metric(name, metrics[name], t)):
            return err
    for name, t in OPTIONAL_METRICS.get(scenario, {}).items():
        if name in metrics and (err := _metric(name, metrics[name], t)):
            return err
    return None


def _metric(name: str, value: Any, t: str) -> str | None:
    full = f"result.metrics.{name}"
    if t == "num":
        return _expect(full, value, "num")
    if t == "num?":
        return _expect(full, value, "num", "null")
    if t == "list":
        if (err := _expect(full, value, "list")):
            return err
        bad = [v for v in value if v is not None and not _is(v, "num")]
        return f"'{full}' holds {kind(bad[0])}, expected numbers" if bad else None
    if (err := _expect(full, value, "obj", "null")):
        return err
    for k in OBJECT_KEYS.get(name, ()) if value else ():
        if k not in value:
            return f"no '{full}.{k}'"
        if (err := _expect(f"{full}.{k}", value[k], "num", "null")):
            return err
    return None
