"""Report: summary.csv, headline.csv, verdict.md, charts/ and one self-contained
report.html for a run directory.

The page opens with the verdict (go ÷ each Python runtime, and each driver ÷ its
library anchor; bench.verdict), then the headline measures, the scale search,
the charts, and only then the long tables.
Every number is written for readers (bench.units). Everything is recomputed from
results.jsonl, so a report can be remade at any time (after a resume, or with a
newer harness).
"""

import base64
import html
import re
from pathlib import Path
from typing import Any

import pandas as pd

from bench import analyze, store, verdict
from bench.charts import render_all, stable_outcome
from bench.codemetrics import code_metrics
from bench.impls import ALL_IMPLS
from bench.units import MISSING, count, fmt, fmt_ci
from bench.versus import versus_go

KEY_METRICS = ["first_leader_ms", "failover_ms", "throughput_ops_s", "commit_p50_ms",
               "commit_p99_ms", "cpu_us_per_cmd", "cpu_us_per_msg", "hb_gap_p99_ms",
               "hb_gap_max_ms", "rss_peak_kb", "rss_per_node_kb", "threads_peak",
               "largest_stable_n"]
SCENARIO_ORDER = ["capacity", "scale", "election", "failover", "replication"]
NOT_MEASURED = "Not measured in this run"

GLOSSARY = {
    "driver": "a program that reads one scenario JSON, runs one trial and prints one result "
              "line (docs/protocol.md).",
    "implementation": "a driver with the arguments and environment that pick its runtime "
                      "(go, go-1p = GOMAXPROCS=1, py-threads, py-asyncio, py-asyncio-uvloop; "
                      "py-sim and go-sim are the ideal reference in virtual time).",
    "runtime": "the concurrency machinery an implementation uses: goroutines, OS threads, "
               "an asyncio event loop, or a discrete-event simulator.",
    "scenario": "what a trial does: election (cold start), failover (leader crashes), "
                "replication (closed-loop clients), capacity (a sweep of closed-loop client "
                "counts), scale (one leader held S seconds as N doubles, then bisects).",
    "variant": "a setting of a scenario: light/saturated load, a client count (c16 = 16 "
               "clients), a timeout range, a hold time.",
    "trial": "one fresh driver process running one scenario; the unit of measurement. "
             "Seeds are trial index + 1, the same for every implementation.",
    "warm-up": "one discarded trial per implementation at the start of a run.",
    "go ÷ X": "the ratio of medians, median(go) / median(X), with a 95% bootstrap CI "
              "(bench.stats.compare); a conclusion is drawn only when the CI excludes 1×.",
    "bound": "runtime: the implementation set the limit. harness: the harness or the network "
             "model did (e.g. the simulators, or a rate no runtime can show here); such rows "
             "draw no conclusion.",
}

METHOD = (
    "Each trial runs in a fresh driver process. Implementations are interleaved "
    "(A B C A B C ...) so that drift affects all alike. From outside, the harness polls the "
    "process every 10 ms (peak RSS as Linux VmHWM, peak OS threads) and takes its CPU user "
    "and system time from wait4 at exit; wall time runs from spawn to exit. CPU per command "
    "and per message is the CPU the driver spent during the trial, without the interpreter's "
    "start-up. A trial that exceeds the hard timeout is killed and recorded as failed with its "
    "stderr tail. Medians come with 95% percentile-bootstrap confidence intervals "
    "(scipy.stats.bootstrap), claimed only from at least "
    f"{verdict.MIN_CI_TRIALS} trials; p10/p90/p99 are numpy percentiles over trials (over "
    "pooled values for failover). Memory is in binary multiples: 1 MB = 1,024 KB = "
    "1,048,576 bytes."
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
        inner = [f"({_fmt(x)})" if isinstance(x, list | tuple) else _fmt(x) for x in v]
        return ", ".join(inner)
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int | float):
        return count(v) if float(v).is_integer() else f"{v:g}"
    return str(v)


def _unit(unit: Any) -> str:
    u = "" if unit is None or (isinstance(unit, float) and unit != unit) else str(unit)
    return "cmd/s" if u == "ops/s" else u  # a replicated operation is a client command


def _natural(text: Any) -> tuple[Any, ...]:
    """_natural: a sort key that orders c16 after c4 and 10 after 9."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text)))


def impl_order(impls: Any) -> list[str]:
    """impl_order: implementations in bench.impls.ALL_IMPLS order, unknown ones last."""
    present = {str(i) for i in impls}
    return [i for i in ALL_IMPLS if i in present] + sorted(present - set(ALL_IMPLS))


def key_table(summ: pd.DataFrame) -> pd.DataFrame:
    """key_table: medians of the key metrics in readable units, one column per
    implementation; N in numeric order; * = the cell had failed trials."""
    df = summ[summ.metric.isin(KEY_METRICS)].copy()
    if df.empty:
        return pd.DataFrame()
    df["cell"] = [fmt(r["median"], _unit(r["unit"])) + ("*" if r["failures"] else "")
                  for r in df.to_dict("records")]
    df["n_key"] = [-1 if verdict.nodes_key(n) is None else verdict.nodes_key(n) for n in df.nodes]
    impls = impl_order(df.impl)
    out = []
    order = {s: k for k, s in enumerate(SCENARIO_ORDER)}
    keys = ["scenario", "variant", "metric", "n_key"]
    for (sc, var, metric, n), g in df.groupby(keys, sort=False):
        cells = dict(zip(g.impl.astype(str), g.cell, strict=True))
        out.append({"scenario": sc, "variant": var, "metric": metric,
                    "N": "" if n == -1 else count(float(str(n))),
                    **{i: cells.get(i, "") for i in impls},
                    "_key": (order.get(str(sc), len(order)), str(sc), _natural(var),
                             KEY_METRICS.index(str(metric)), n)})
    out.sort(key=lambda r: r["_key"])
    return pd.DataFrame(out).drop(columns="_key")


def _section(title: str, body: str) -> str:
    return f"<h2>{html.escape(title)}</h2>\n{body}\n"


def _not_measured(what: str) -> str:
    return f"<p class=missing>{NOT_MEASURED}: {html.escape(what)}</p>"


def headline_frame(head: pd.DataFrame | None) -> pd.DataFrame:
    """headline_frame: the headline table with exactly verdict.HEADLINE_COLUMNS, N as
    whole numbers (empty for per-implementation measures); as headline.csv has it."""
    cols = verdict.HEADLINE_COLUMNS
    if head is None or head.empty:
        return pd.DataFrame({c: pd.Series(dtype="Int64" if c == "nodes" else object)
                             for c in cols})
    out = head.reindex(columns=cols).copy()
    out["nodes"] = pd.array([verdict.nodes_key(n) for n in out.nodes], dtype="Int64")
    return out


def headline_table(head: pd.DataFrame, search: pd.DataFrame | None = None) -> pd.DataFrame:
    """headline_table: one line per measure and N, one column per implementation
    ("median (95% CI)" in readable units; ‡ = harness-bound), and the bound."""
    if head.empty:
        return pd.DataFrame()
    lower = verdict.capped(search)
    impls = impl_order(head.impl)
    groups: dict[tuple[str, int | None], dict[str, str]] = {}
    harness: dict[tuple[str, int | None], list[str]] = {}
    for rec in head.to_dict("records"):
        key = (str(rec["measure"]), verdict.nodes_key(rec["nodes"]))
        impl, unit = str(rec["impl"]), _unit(rec["unit"])
        text = fmt_ci(rec["median"], rec["ci_low"], rec["ci_high"], unit)
        if key[0] == "largest_stable_n" and impl in lower:
            text = f"≥ {text}"
        if str(rec.get("bound", "")).lower() == "harness":
            text += " ‡"
            harness.setdefault(key, []).append(impl)
        groups.setdefault(key, {})[impl] = text
    out = []
    for key in sorted(groups, key=lambda k: (verdict.MEASURES.get(k[0]) is None,
                                             list(verdict.MEASURES).index(k[0])
                                             if k[0] in verdict.MEASURES else 0,
                                             k[0], -1 if k[1] is None else k[1])):
        m = verdict.MEASURES.get(key[0])
        direction = ("" if m is None or m.higher_is_better is None
                     else " (higher is better)" if m.higher_is_better else " (lower is better)")
        hb = impl_order(harness.get(key, []))
        bound = ("runtime" if not hb else "harness ‡ (all)" if len(hb) == len(groups[key])
                 else "harness ‡: " + ", ".join(hb))
        out.append({"measure": (m.title if m else key[0]) + direction,
                    "N": "" if key[1] is None else count(key[1]),
                    **{i: groups[key].get(i, MISSING) for i in impls},
                    "bound": bound})
    return pd.DataFrame(out)


def search_table(search: pd.DataFrame | None) -> pd.DataFrame:
    """search_table: per implementation, every N the scale search tried (✓ held, ✗ did
    not), the largest N that held, and why the search ended."""
    if search is None or search.empty:
        return pd.DataFrame()
    ends = stable_outcome(search)
    out = []
    for impl in impl_order(search.impl):
        g = search[search.impl == impl].sort_values("nodes")
        tried = " · ".join(f"{count(float(n))} {'✓' if bool(h) else '✗'}"
                           for n, h in zip(g.nodes, g.held, strict=True))
        best, note = ends[impl]
        out.append({"implementation": impl, "N tried (✓ held, ✗ did not)": tried,
                    "largest N held": count(best) if best else "none",
                    "search ended": note})
    return pd.DataFrame(out)


def verdict_html(rows: list[verdict.Row], head: pd.DataFrame) -> str:
    """verdict_html: the verdict table and one sentence per row; what the run lacks."""
    gone = verdict.missing(head)
    if not rows:
        what = ("go and a Python runtime were not both measured in the capacity and scale "
                "scenarios")
        return _not_measured(what) + (
            f"<p>Measures without data: {html.escape(', '.join(gone))}.</p>" if gone else "")
    items = "".join(f"<li>{html.escape(r.sentence)}</li>" for r in rows)
    parts = [
        "<p>Each cell is the ratio its column names, A ÷ B: go over a Python runtime, or "
        "a driver over the library anchor of its language (medians over trials; for memory "
        "per node, the slopes of the fits), with the ratio's 95% CI where there are enough "
        "trials; above 1× A's value is larger, and each line says whether larger is "
        "better.</p>",
        verdict.table(rows).to_html(index=False, classes="verdict"),
        f"<ul class=verdict>{items}</ul>",
    ]
    if gone:
        parts.append(_not_measured(", ".join(gone)))
    return "".join(parts)


def _run_line(meta: dict[str, Any], env: dict[str, Any]) -> str:
    cfg, mach = meta.get("config", {}), env.get("machine", {})
    bits = [f"preset {cfg.get('preset', '?')}", f"{cfg.get('trials', '?')} trials per cell",
            f"implementations: {', '.join(cfg.get('impls', []))}",
            f"created {meta.get('created', '?')}"]
    if mach:
        bits.append(f"machine: {mach.get('cpu_model', '?')}, {mach.get('cores_logical', '?')} "
                    f"cores, {fmt(mach.get('memory_bytes'), 'B')} memory")
    return f"<p class=runline>{html.escape('; '.join(bits))}.</p>"


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
.fails td{font-family:monospace;font-size:11px;white-space:pre-wrap}
.runline{color:#444} .missing{color:#8a5a00;font-style:italic}
ul.verdict li{margin-bottom:4px} table.verdict td:first-child{font-weight:bold}
table.num td{text-align:right;white-space:nowrap} table.num td:nth-child(-n+3){text-align:left}"""


def _table_or(df: pd.DataFrame, what: str, classes: str = "") -> str:
    if df.empty:
        return _not_measured(what)
    return df.to_html(index=False, na_rep="", classes=classes or None)


def render_html(path: Path, summ: pd.DataFrame, charts: list[Any],
                fails: list[dict[str, Any]], head: pd.DataFrame | None = None,
                samples: verdict.Samples | None = None,
                search: pd.DataFrame | None = None) -> str:
    """render_html: the page, verdict first; head, samples and search are
    bench.analyze.headline's and scale_search's results."""
    meta, env = store.load_meta(path), store.load_env(path)
    code = pd.DataFrame([c.__dict__ for c in code_metrics()])
    head = headline_frame(head)
    rows = verdict.verdict(head, samples, search)
    body = [
        f"<h1>raftbench report: {html.escape(path.name)}</h1>",
        _run_line(meta, env),
        _section("Verdict: go ÷ each Python runtime, each driver ÷ its anchor",
                 verdict_html(rows, head)),
        _section("Headline measures (median and 95% CI; ‡ = harness-bound)",
                 _table_or(headline_table(head, search),
                           "no headline measure (capacity sweep, scale search)")),
        _section("Scale search", _table_or(search_table(search), "the scale search")),
        _section("Charts", _charts_html(charts)),
        _section("Every cell vs go (ratio impl ÷ go, 95% CI from 5 trials a side, "
                 "Mann-Whitney U p adjusted by Benjamini-Hochberg)",
                 _table_or(versus_table(path), "no cell with go and another implementation")),
        _section("All key metrics (medians; * = the cell had failed trials)",
                 _table_or(key_table(summ), "no key metric", "num")),
        _section("Run", _kv_table({"created": meta.get("created"), **meta.get("config", {})})),
        _section("Method", f"<p>{html.escape(METHOD)}</p>" + _kv_table(GLOSSARY)),
        _section("Code (lines of code, cyclomatic complexity; the working tree at report time)",
                 code.to_html(index=False)),
        _section("Failed trials", _failures_html(fails)),
        _section("Environment", _kv_table({**env.get("machine", {}),
                                          **{k: v for k, v in env.items() if k != "machine"}})),
        "<p>All statistics: summary.csv and headline.csv beside this file; the verdict as "
        "Markdown: verdict.md.</p>",
    ]
    return (f"<!doctype html><html><head><meta charset=utf-8><title>raftbench {path.name}"
            f"</title><style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")


def versus_table(path: Path) -> pd.DataFrame:
    """versus_table: bench.versus's table (written as versus.csv), for readers."""
    csv = path / "versus.csv"
    if not csv.is_file():
        return pd.DataFrame()
    df = pd.read_csv(csv)
    if df.empty:
        return df
    return pd.DataFrame({
        "scenario": df.scenario, "variant": df.variant, "N": df.nodes, "metric": df.metric,
        "implementation": df.impl,
        "÷ go": [fmt_ci(r, lo, hi, "ratio") for r, lo, hi in zip(df.ratio, df.ci_low,
                                                                 df.ci_high, strict=True)],
        "p (BH)": [MISSING if pd.isna(p) else f"{p:.2g}" for p in df.p_bh],
        "n": [f"{a}+{b}" for a, b in zip(df.n_impl, df.n_go, strict=True)]})


def make_report(path: Path) -> Path:
    """make_report writes summary.csv, headline.csv, verdict.md, charts/*.png|svg and
    report.html; returns the HTML. A run without measured trials raises StoreError."""
    records = store.load_records(path)
    if not any(not r.get("warmup") for r in records):
        raise store.StoreError(f"RUN_DIR: {path} has no measured trials")
    vals = analyze.values(records)
    summ = analyze.summary(vals)
    summ.to_csv(path / "summary.csv", index=False)
    raw_head, samples = analyze.headline(vals)
    head = headline_frame(raw_head)
    head.to_csv(path / "headline.csv", index=False)
    search = analyze.scale_search(records)
    rows = verdict.verdict(head, samples, search)
    (path / "verdict.md").write_text("\n".join(verdict.markdown(rows, head)) + "\n",
                                     encoding="utf-8")
    versus_go(vals).to_csv(path / "versus.csv", index=False)
    charts = render_all(vals, path / "charts", search)
    out = path / "report.html"
    out.write_text(render_html(path, summ, charts, analyze.failures(records), head, samples,
                               search), encoding="utf-8")
    return out
