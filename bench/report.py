"""Report: summary.csv, charts/ and one self-contained report.html for a run directory.

Everything is recomputed from results.jsonl, so a report can be remade at any time
(after a resume, or with a newer harness).
"""

import base64
import html
from pathlib import Path
from typing import Any

import pandas as pd

from bench import analyze, store
from bench.charts import render_all
from bench.codemetrics import code_metrics

KEY_METRICS = ["first_leader_ms", "failover_ms", "throughput_ops_s", "commit_p50_ms",
               "commit_p99_ms", "cpu_us_per_cmd", "rss_peak_kb", "threads_peak",
               "largest_stable_n"]

GLOSSARY = {
    "driver": "a program that reads one scenario JSON, runs one trial and prints one result "
              "line (docs/protocol.md).",
    "implementation": "a driver with the arguments and environment that pick its runtime "
                      "(go, go-1p = GOMAXPROCS=1, py-threads, py-asyncio, py-asyncio-uvloop; "
                      "py-sim and go-sim are the ideal reference in virtual time).",
    "runtime": "the concurrency machinery an implementation uses: goroutines, OS threads, "
               "an asyncio event loop, or a discrete-event simulator.",
    "scenario": "what a trial does: election (cold start), failover (leader crashes), "
                "replication (closed-loop clients), scale (election held S seconds at "
                "doubling N).",
    "variant": "a setting of a scenario: light/saturated load, a timeout range, a hold time.",
    "trial": "one fresh driver process running one scenario; the unit of measurement. "
             "Seeds are trial index + 1, the same for every implementation.",
    "warm-up": "one discarded trial per implementation at the start of a run.",
}

METHOD = (
    "Each trial runs in a fresh driver process. Implementations are interleaved "
    "(A B C A B C ...) so that drift affects all alike. From outside, the harness polls the "
    "process every 10 ms (peak RSS as Linux VmHWM, peak OS threads) and takes its CPU user "
    "and system time from wait4 at exit; wall time runs from spawn to exit. A trial that "
    "exceeds the hard timeout is killed and recorded as failed with its stderr tail. "
    "Medians come with 95% percentile-bootstrap confidence intervals (scipy.stats.bootstrap); "
    "p10/p90/p99 are numpy percentiles over trials (over pooled values for failover)."
)


def _img(png: Path) -> str:
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(png.stem)}" src="data:image/png;base64,{data}">'


def _kv_table(d: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
                   for k, v in d.items())
    return f"<table>{rows}</table>"


def _fmt(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{a}={b}" for a, b in v.items())
    if isinstance(v, list | tuple):
        return ", ".join(str(x) for x in v)
    return str(v)


def key_table(summ: pd.DataFrame) -> pd.DataFrame:
    """key_table: medians of the key metrics, one column per implementation."""
    df = summ[summ.metric.isin(KEY_METRICS)].copy()
    if df.empty:
        return df
    df["nodes"] = df.nodes.astype("string").fillna("")
    df["median"] = df.apply(lambda r: f"{r['median']:.4g}" + ("*" if r.failures else ""), axis=1)
    return df.pivot_table(index=["scenario", "variant", "metric", "unit", "nodes"],
                          columns="impl", values="median", aggfunc="first").reset_index()


def _section(title: str, body: str) -> str:
    return f"<h2>{html.escape(title)}</h2>\n{body}\n"


def _charts_html(charts: list[Any]) -> str:
    parts = [f"<h3>{html.escape(c.title)}</h3><p class=method>{html.escape(c.method)}</p>"
             f"{_img(png)}" for c, png in charts]
    return "\n".join(parts) or "<p>No chart: the run has no data yet.</p>"


def _failures_html(fails: list[dict[str, Any]]) -> str:
    if not fails:
        return "<p>None.</p>"
    df = pd.DataFrame(fails)
    return df.to_html(index=False, classes="fails")


STYLE = """body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}
table{border-collapse:collapse;font-size:13px;margin-bottom:1em}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
img{max-width:100%} .method{color:#444;font-size:14px} td pre{white-space:pre-wrap;margin:0}
.fails td{font-family:monospace;font-size:11px;white-space:pre-wrap}"""


def render_html(path: Path, summ: pd.DataFrame, charts: list[Any],
                fails: list[dict[str, Any]]) -> str:
    meta, env = store.load_meta(path), store.load_env(path)
    code = pd.DataFrame([c.__dict__ for c in code_metrics()])
    body = [
        f"<h1>raftbench report: {html.escape(path.name)}</h1>",
        _section("Run", _kv_table({"created": meta.get("created"), **meta.get("config", {})})),
        _section("Method", f"<p>{html.escape(METHOD)}</p>" + _kv_table(GLOSSARY)),
        _section("Key results (medians; * = the cell had failed trials)",
                 key_table(summ).to_html(index=False, na_rep="")),
        _section("Charts", _charts_html(charts)),
        _section("Code (lines of code, cyclomatic complexity; the working tree at report time)",
                 code.to_html(index=False)),
        _section("Failed trials", _failures_html(fails)),
        _section("Environment", _kv_table({**env.get("machine", {}),
                                          **{k: v for k, v in env.items() if k != "machine"}})),
        "<p>All statistics: summary.csv beside this file.</p>",
    ]
    return (f"<!doctype html><html><head><meta charset=utf-8><title>raftbench {path.name}"
            f"</title><style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")


def make_report(path: Path) -> Path:
    """make_report writes summary.csv, charts/*.png|svg and report.html; returns the HTML."""
    records = store.load_records(path)
    vals = analyze.values(records)
    summ = analyze.summary(vals)
    summ.to_csv(path / "summary.csv", index=False)
    charts = render_all(vals, path / "charts")
    out = path / "report.html"
    out.write_text(render_html(path, summ, charts, analyze.failures(records)), encoding="utf-8")
    return out
