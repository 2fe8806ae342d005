"""Charts: one function per figure, from the tidy values table (bench.analyze.values).

Every implementation has one colour in every chart; the simulators (the ideal
reference: virtual time, no scheduling delays) are drawn dashed. A chart whose
data the run lacks is skipped. Lines are medians over trials; bands span the
interquartile range (25th to 75th percentile). Error bars are 95% bootstrap
CIs of the median (bench.stats.median_ci), drawn only where a point has at
least MIN_CI_TRIALS trials; with fewer, the trials themselves are drawn as dots.
Throughput and CPU axes start at zero.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    EngFormatter,
    FuncFormatter,
    NullFormatter,
)
from matplotlib.transforms import blended_transform_factory  # noqa: E402
from scipy.stats import linregress  # type: ignore[import-untyped, unused-ignore]  # noqa: E402

from bench import stats  # noqa: E402
from bench.impls import ALL_IMPLS, SIMULATORS, TCP_IMPLS  # noqa: E402
from bench.paper import PAPER_POINTS  # noqa: E402
from bench.presets import PAPER_BOTTOM, PAPER_TOP  # noqa: E402
from bench.units import count, fmt, number  # noqa: E402
from bench.verdict import MIN_CI_TRIALS  # noqa: E402

NOMINAL_HEARTBEAT_MS = 50.0  # the scale scenario's heartbeat interval

COLORS = {
    "go": "#00add8", "go-1p": "#1f4e79", "py-threads": "#d62728", "py-asyncio": "#2ca02c",
    "py-asyncio-uvloop": "#9467bd", "py-sim": "#7f7f7f", "go-sim": "#000000",
    # The anchors, the libraries a user would pick instead (docs/anchors.md), in a
    # family of their own, oranges and browns: hashicorp/raft and PySyncObj.
    "anchor-hashicorp": "#f28e2b", "anchor-pysyncobj": "#8c510a",
    # One process per node over TCP: the colour of the in-process twin, drawn
    # dash-dotted (style), so that a pair reads as one runtime in two settings;
    # the mixed Go/Python cluster has a colour of its own.
    "go-tcp": "#00add8", "py-asyncio-tcp": "#2ca02c", "py-threads-tcp": "#d62728",
    "mixed-tcp": "#e377c2",
}


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    method: str  # how the figure was measured, for the report


def style(impl: str) -> dict[str, Any]:
    linestyle = "--" if impl in SIMULATORS else "-." if impl in TCP_IMPLS else "-"
    return {"color": COLORS.get(impl, "#bcbd22"), "linestyle": linestyle, "label": impl}


def _impls(df: pd.DataFrame) -> list[str]:
    present = set(df.impl)
    return [i for i in ALL_IMPLS if i in present] + sorted(present - set(ALL_IMPLS))


def _sel(vals: pd.DataFrame, scenario: str, metric: str) -> pd.DataFrame:
    return vals[(vals.scenario == scenario) & (vals.metric == metric)]


def _log2_axis(ax: Axes, sizes: list[int], label: str = "cluster size N (nodes, log2 scale)"
               ) -> None:
    ax.set_xscale("log", base=2)
    ticks = sorted(sizes)
    if len(ticks) > 10:  # bisection points between the doublings: label the doublings
        ticks = [s for s in ticks if (s / ticks[0]).is_integer()
                 and (int(s / ticks[0]) & (int(s / ticks[0]) - 1)) == 0]
    ax.set_xticks(ticks)
    ax.set_xticklabels([count(s) for s in ticks], rotation=45 if len(ticks) > 7 else 0)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(label)


def _median_ci_lines(ax: Axes, df: pd.DataFrame, x: str = "nodes") -> None:
    """_median_ci_lines: per implementation, the median over trials at each x, with 95% CI
    error bars where a point has MIN_CI_TRIALS trials or more, else the trials as dots."""
    for impl in _impls(df):
        g = df[df.impl == impl].groupby(x).value
        med = g.median()
        st = style(impl)
        ax.plot(med.index.to_numpy(dtype=float), med.to_numpy(), marker="o", **st)
        for xv, s in g:
            v = s.to_numpy(dtype=float)
            if v.size >= MIN_CI_TRIALS:
                lo, hi = stats.median_ci(v)
                m = float(np.median(v))
                ax.errorbar([float(str(xv))], [m], yerr=[[m - lo], [hi - m]], fmt="none",
                            ecolor=st["color"], capsize=3, linewidth=1)
            elif v.size > 1:
                ax.scatter(np.full(v.size, float(str(xv))), v, color=st["color"], s=10,
                           alpha=0.5, linewidths=0)
    ax.grid(alpha=0.3)


def _from_zero(ax: Axes) -> None:
    ax.set_ylim(bottom=0, top=max(ax.get_ylim()[1], 1e-9))


def _median_lines(ax: Axes, df: pd.DataFrame, ylabel: str, band: bool = True) -> None:
    for impl in _impls(df):
        g = df[df.impl == impl].groupby("nodes").value
        q = pd.DataFrame({"med": g.median(), "lo": g.quantile(0.25), "hi": g.quantile(0.75)})
        st = style(impl)
        ax.plot(q.index, q.med, marker="o", **st)
        if band:
            ax.fill_between(q.index, q.lo, q.hi, color=st["color"], alpha=0.15)
    _log2_axis(ax, sorted(int(n) for n in df.nodes.unique()))
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def _log_y(ax: Axes) -> None:
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: number(v)))  # 4, not 4x10^0
    ax.yaxis.set_minor_formatter(NullFormatter())


def _panels(n: int, width: float = 5.5, height: float = 4.0) -> tuple[Figure, list[Axes]]:
    fig, axes = plt.subplots(1, n, figsize=(width * n, height), squeeze=False)
    return fig, list(axes[0])


def _legend(fig: Figure, ax: Axes) -> None:
    handles, labels = ax.get_legend_handles_labels()
    # As many columns as the figure's width holds, so no label falls off its edge.
    ncol = max(1, min(len(labels), int(fig.get_figwidth() // 1.8)))
    rows = -(-len(labels) // ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)
    fig.tight_layout(rect=(0, 0.045 * rows + 0.03, 1, 1))


def election_vs_n(vals: pd.DataFrame) -> Figure | None:
    df = _sel(vals, "election", "first_leader_ms")
    if df.empty:
        return None
    fig, (ax,) = _panels(1, 7)
    _median_lines(ax, df, "time to first leader (ms)")
    ax.set_title("Cold start to first leader")
    _legend(fig, ax)
    return fig


def _ecdf(ax: Axes, x: np.ndarray, **kw: Any) -> None:
    x = np.sort(x)
    ax.step(x, np.arange(1, x.size + 1) / x.size * 100, where="post", **kw)


def _main_failover(vals: pd.DataFrame) -> pd.DataFrame:
    df = _sel(vals, "failover", "failover_ms")
    variants = list(df.variant.unique())
    keep = "150-300" if "150-300" in variants else (variants[0] if variants else None)
    return df[df.variant == keep]


def failover_cdf(vals: pd.DataFrame) -> Figure | None:
    df = _main_failover(vals)
    if df.empty:
        return None
    sizes = sorted(df.nodes.unique())
    fig, axes = _panels(len(sizes))
    for ax, n in zip(axes, sizes, strict=True):
        for impl in _impls(df):
            _ecdf(ax, df[(df.impl == impl) & (df.nodes == n)].value.to_numpy(), **style(impl))
        ax.set(title=f"N={n}, timeouts {df.variant.iloc[0]} ms",
               xlabel="time without leader (ms)", ylabel="cumulative % of failovers")
        ax.grid(alpha=0.3)
    _legend(fig, axes[0])
    return fig


def _ideal(df: pd.DataFrame) -> str | None:
    return next((s for s in ("py-sim", "go-sim") if s in set(df.impl)), None)


def failover_vs_ideal(vals: pd.DataFrame) -> Figure | None:
    df = _main_failover(vals)
    ideal = _ideal(df)
    real = [i for i in _impls(df) if i not in SIMULATORS]
    if ideal is None or not real:
        return None
    sizes = sorted(df.nodes.unique())
    fig, axes = _panels(len(sizes), 5, 5)
    qs = np.linspace(1, 99, 50)
    for ax, n in zip(axes, sizes, strict=True):
        ref = np.percentile(df[(df.impl == ideal) & (df.nodes == n)].value, qs)
        for impl in real:
            ax.plot(ref, np.percentile(df[(df.impl == impl) & (df.nodes == n)].value, qs),
                    marker=".", **style(impl))
        lim = [min(ref.min(), ax.get_ylim()[0]), max(ref.max(), ax.get_ylim()[1])]
        ax.plot(lim, lim, color="black", linewidth=0.8, linestyle=":", label=f"ideal ({ideal})")
        ax.set(title=f"N={n}: quantiles vs the simulator", xlabel=f"{ideal} failover (ms)",
               ylabel="implementation failover (ms)")
        ax.grid(alpha=0.3)
    _legend(fig, axes[0])
    return fig


def _by_variant(vals: pd.DataFrame, scenario: str, metric: str, ylabel: str, title: str,
                band: bool = True, zero: bool = False) -> Figure | None:
    df = _sel(vals, scenario, metric)
    if df.empty:
        return None
    variants = list(dict.fromkeys(df.variant))
    fig, axes = _panels(len(variants))
    for ax, v in zip(axes, variants, strict=True):
        _median_lines(ax, df[df.variant == v], ylabel, band)
        ax.set_title(f"{title} ({v})")
        if zero:
            _from_zero(ax)
    _legend(fig, axes[0])
    return fig


def _rate_axis(axis: Any) -> None:
    axis.set_major_formatter(EngFormatter(sep=" "))  # 20 k, not 20000 or 2e4


def throughput_vs_n(vals: pd.DataFrame) -> Figure | None:
    fig = _by_variant(vals, "replication", "throughput_ops_s",
                      "throughput (committed commands/s)", "Replication throughput", zero=True)
    for ax in fig.axes if fig else []:
        _rate_axis(ax.yaxis)
    return fig


def latency_vs_n(vals: pd.DataFrame) -> Figure | None:
    rows = [("commit_p50_ms", "p50"), ("commit_p99_ms", "p99")]
    df = vals[(vals.scenario == "replication") & vals.metric.isin([m for m, _ in rows])]
    if df.empty:
        return None
    variants = list(dict.fromkeys(df.variant))
    fig, grid = plt.subplots(2, len(variants), figsize=(5.5 * len(variants), 7), squeeze=False)
    for r, (metric, label) in enumerate(rows):
        for c, v in enumerate(variants):
            ax = grid[r][c]
            _median_lines(ax, df[(df.metric == metric) & (df.variant == v)],
                          f"{label} commit latency (ms)")
            ax.set_title(f"{label} commit latency ({v})")
    _legend(fig, grid[0][0])
    return fig


def _resource_source(vals: pd.DataFrame) -> str | None:
    # scale reaches the largest N; election is the fallback when scale was not run.
    return next((s for s in ("scale", "election") if (vals.scenario == s).any()), None)


def rss_per_node(vals: pd.DataFrame) -> Figure | None:
    src = _resource_source(vals)
    if src is None:
        return None
    df = _sel(vals, src, "rss_per_node_kb").assign(value=lambda d: d.value / 1024)
    fig, (ax,) = _panels(1, 7)
    _median_lines(ax, df, "peak RSS per node (MiB)")
    _log_y(ax)
    ax.set_title(f"Peak resident memory of the driver process / N ({src})")
    _legend(fig, ax)
    return fig


def threads_vs_n(vals: pd.DataFrame) -> Figure | None:
    src = _resource_source(vals)
    if src is None:
        return None
    fig, (ax,) = _panels(1, 7)
    _median_lines(ax, _sel(vals, src, "threads_peak"), "peak OS threads")
    _log_y(ax)
    ax.set_title(f"Peak OS threads of the driver process ({src})")
    _legend(fig, ax)
    return fig


def _clients(variant: Any) -> int:
    """_clients: the client count of a capacity variant ("c16" -> 16)."""
    return int(str(variant).removeprefix("c"))


def _capacity(vals: pd.DataFrame, metric: str) -> pd.DataFrame:
    df = _sel(vals, "capacity", metric)
    return df.assign(clients=[_clients(v) for v in df.variant])


def cpu_per_command(vals: pd.DataFrame) -> Figure | None:
    cap = _capacity(vals, "cpu_us_per_cmd")
    if cap.empty:  # a run without the capacity sweep: the replication variants
        return _by_variant(vals, "replication", "cpu_us_per_cmd",
                           "CPU time per committed command (µs)", "CPU per command", zero=True)
    sizes = sorted(int(n) for n in cap.nodes.unique())
    fig, axes = _panels(len(sizes))
    for ax, n in zip(axes, sizes, strict=True):
        d = cap[cap.nodes == n]
        _median_ci_lines(ax, d, "clients")
        _log2_axis(ax, sorted(int(c) for c in d.clients.unique()),
                   "closed-loop clients (offered load, log2 scale)")
        _from_zero(ax)
        ax.set(title=f"CPU per committed command, N={n}", ylabel="in-trial CPU per command (µs)")
    _legend(fig, axes[0])
    return fig


def capacity_curve(vals: pd.DataFrame) -> Figure | None:
    """capacity_curve: commit latency against achieved throughput as the clients grow."""
    thr = _capacity(vals, "throughput_ops_s")
    if thr.empty:
        return None
    lat = {m: _capacity(vals, m) for m in ("commit_p50_ms", "commit_p99_ms")}
    sizes = sorted(int(n) for n in thr.nodes.unique())
    fig, axes = _panels(len(sizes), 5.5, 4.5)
    for ax, n in zip(axes, sizes, strict=True):
        # The simulator runs at millions of commands/s on this network: drawn to
        # scale, every runtime would sit in one pixel at 0. Its peak goes in the title.
        ideal = thr[(thr.impl.isin(SIMULATORS)) & (thr.nodes == n)]
        peak = f"; ideal ({ideal.impl.iloc[0]}): {fmt(ideal.value.max(), 'cmd/s')}" if len(
            ideal) else ""
        for impl in [i for i in _impls(thr) if i not in SIMULATORS]:
            def med(df: pd.DataFrame, impl: str = impl, n: int = n) -> pd.Series:
                return df[(df.impl == impl) & (df.nodes == n)].groupby("clients").value.median()
            pts = pd.DataFrame({"x": med(thr), "p50": med(lat["commit_p50_ms"]),
                                "p99": med(lat["commit_p99_ms"])}).sort_index()
            st = style(impl)
            ax.plot(pts.x, pts.p50, marker="o", **st)
            ax.plot(pts.x, pts.p99, marker="^", color=st["color"], linestyle=":", alpha=0.8)
        ax.set_xlim(left=0)
        _rate_axis(ax.xaxis)
        _log_y(ax)
        ax.set(title=f"N={n}: latency vs throughput{peak}",
               xlabel="achieved throughput (committed commands/s)",
               ylabel="commit latency (ms, log scale)")
        ax.grid(alpha=0.3)
    ax0 = axes[0]
    ax0.plot([], [], color="#555", marker="o", label="p50 latency (solid)")
    ax0.plot([], [], color="#555", marker="^", linestyle=":", label="p99 latency (dotted)")
    _legend(fig, ax0)
    return fig


def heartbeat_lag(vals: pd.DataFrame) -> Figure | None:
    rows = [("hb_gap_p99_ms", "p99"), ("hb_gap_max_ms", "largest")]
    if all(_sel(vals, "scale", m).empty for m, _ in rows):
        return None
    fig, axes = _panels(2)
    for ax, (metric, label) in zip(axes, rows, strict=True):
        df = _sel(vals, "scale", metric)
        if df.empty:
            ax.set_visible(False)
            continue
        _median_ci_lines(ax, df)
        _log2_axis(ax, sorted(int(n) for n in df.nodes.unique()))
        _log_y(ax)
        ax.axhline(NOMINAL_HEARTBEAT_MS, color="black", linestyle=":", linewidth=1,
                   label=f"nominal heartbeat ({NOMINAL_HEARTBEAT_MS:g} ms)")
        ax.set(title=f"{label} gap between heartbeats at a follower",
               ylabel=f"{label} heartbeat gap (ms, log scale)")
    _legend(fig, axes[0])
    return fig


def cpu_per_message(vals: pd.DataFrame) -> Figure | None:
    df = _sel(vals, "scale", "cpu_us_per_msg")
    if df.empty:
        return None
    fig, (ax,) = _panels(1, 7)
    _median_ci_lines(ax, df)
    _log2_axis(ax, sorted(int(n) for n in df.nodes.unique()))
    _from_zero(ax)
    ax.set(title="CPU per message handled (scale: election held)",
           ylabel="in-trial CPU per message (µs)")
    _legend(fig, ax)
    return fig


def _rss_points(vals: pd.DataFrame) -> pd.DataFrame:
    """_rss_points: the scale trials' peak RSS (KiB) with whether each held its leader
    (every trial counts as held where the run has no `stable` values)."""
    sc = vals[vals.scenario == "scale"]
    rss = sc[sc.metric == "rss_peak_kb"]
    stable = sc[sc.metric == "stable"].groupby(["impl", "nodes", "trial"]).value.min()
    held = [bool(stable.get(k, 1.0) >= 1) for k in zip(rss.impl, rss.nodes, rss.trial,
                                                        strict=True)]
    return rss.assign(held=held)


def rss_fit(vals: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """rss_fit: per implementation, the least-squares line (scipy.stats.linregress) of peak
    RSS (KiB) against N over the scale trials that held their leader, as the headline's
    rss_per_node fits it: (slope in KiB per node, intercept in KiB); 3 N at least."""
    df = _rss_points(vals)
    out: dict[str, tuple[float, float]] = {}
    for impl in _impls(df):
        d = df[(df.impl == impl) & df.held]
        if d.nodes.nunique() >= 3:
            fit = linregress(d.nodes.to_numpy(dtype=float), d.value.to_numpy(dtype=float))
            out[impl] = (float(fit.slope), float(fit.intercept))
    return out


def rss_vs_n(vals: pd.DataFrame) -> Figure | None:
    df = _rss_points(vals)
    if df.empty:
        return None
    fits = rss_fit(vals)
    fig, (ax,) = _panels(1, 8, 5)
    mb = 1024.0
    for impl in _impls(df):
        d = df[df.impl == impl]
        st = style(impl)
        label = impl
        if impl in fits:  # drawn over the N the implementation reached, not beyond
            slope, icept = fits[impl]
            label = f"{impl}: {fmt(slope, 'KiB')} per node"
            x = np.array([0.0, float(d.nodes.max())])
            ax.plot(x, (icept + slope * x) / mb, color=st["color"],
                    linestyle=st["linestyle"], linewidth=1.2)
        ok, bad = d[d.held], d[~d.held]
        ax.scatter(ok.nodes, ok.value / mb, color=st["color"], s=16, label=label)
        ax.scatter(bad.nodes, bad.value / mb, facecolors="none", edgecolors=st["color"], s=16)
    ax.set_xlim(left=0)
    _from_zero(ax)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: count(v)))
    ax.set(title="Peak RSS of the driver process vs N (scale), with a least-squares line",
           xlabel="cluster size N (nodes)", ylabel="peak RSS (MB)")
    ax.grid(alpha=0.3)
    _legend(fig, ax)
    return fig


def stable_outcome(search: pd.DataFrame) -> dict[str, tuple[int, str]]:
    """stable_outcome: per implementation, from bench.analyze.scale_search's table, the
    largest N that held below the first N that did not, and why the search ended."""
    out: dict[str, tuple[int, str]] = {}
    for impl, g in search.groupby("impl", sort=False):
        g = g.sort_values("nodes")
        held = g.held.astype(bool)
        failed = g[~held]
        first = int(failed.nodes.min()) if not failed.empty else None
        ok = g[held & ((g.nodes < first) if first is not None else True)]
        best = int(ok.nodes.max()) if not ok.empty else 0
        if first is None:
            note = "held at every N tried"
        else:
            reason = str(failed[failed.nodes == first].reason.iloc[0] or "failed")
            note = f"failed at {count(first)}: {reason}"
        out[str(impl)] = (best, note)
    return out


def _stable_from_vals(vals: pd.DataFrame) -> dict[str, tuple[int, str]]:
    """_stable_from_vals: the same from the scale trials' `stable` values (no reasons)."""
    out: dict[str, tuple[int, str]] = {}
    sc = vals[(vals.scenario == "scale") & (vals.metric == "stable")]
    for impl, g in sc.groupby("impl", sort=False):
        best, note = 0, "held at every N tried"
        for nodes, h in g.groupby("nodes", sort=True):
            if h.value.min() < 1:
                note = f"failed at {count(float(str(nodes)))}"
                break
            best = int(float(str(nodes)))
        out[str(impl)] = (best, note)
    return out


def stable_n(vals: pd.DataFrame, search: pd.DataFrame | None = None) -> Figure | None:
    best = (stable_outcome(search) if search is not None and not search.empty
            else _stable_from_vals(vals))
    if not best:
        return None
    impls = [i for i in ALL_IMPLS if i in best] + sorted(set(best) - set(ALL_IMPLS))
    widths = [best[i][0] for i in impls]
    fig, (ax,) = _panels(1, 8, 0.45 * len(impls) + 1.4)
    bars = ax.barh(impls, widths, color=[COLORS.get(i, "#bcbd22") for i in impls])
    ax.bar_label(bars, labels=[count(w) if w else "none" for w in widths], padding=3,
                 fontsize=9)
    positive = [w for w in widths if w > 0]
    if positive and max(positive) / min(positive) > 20:
        ax.set_xscale("log", base=2)
        top = int(np.ceil(np.log2(max(positive)))) + 4  # room for the value labels
        step = max(1, -(-top // 6))
        ax.set_xticks([2.0**k for k in range(0, top + 1, step)])
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: count(v)))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlim(1, 2.0**top)
    else:
        ax.set_xlim(0, (max(widths) or 1) * 1.3)
    # Why each search ended, in a column right of the axes.
    side = blended_transform_factory(ax.transAxes, ax.transData)
    for y, impl in enumerate(impls):
        ax.text(1.02, y, best[impl][1], transform=side, va="center", fontsize=9)
    ax.text(1.02, -0.9, "why the search ended", transform=side, va="center", fontsize=9,
            fontweight="bold")
    ax.invert_yaxis()  # the first implementation on top
    ax.set_xlabel("largest N with one stable leader (nodes)")
    ax.set_title("Scale: largest stable cluster")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


ChartFn = Callable[[pd.DataFrame, pd.DataFrame | None], Figure | None]


def _v(fn: Callable[[pd.DataFrame], Figure | None]) -> ChartFn:
    """_v: a chart drawn from the values alone (the scale search unused)."""
    return lambda vals, _search: fn(vals)


_CI_NOTE = (f"Error bars: 95% bootstrap CI of the median where a point has at least "
            f"{MIN_CI_TRIALS} trials; with fewer, each trial is a dot.")

# In the order of the report: what the verdict rests on first.
CHARTS: list[tuple[Chart, ChartFn]] = [
    (Chart("capacity_curve", "Capacity: commit latency vs throughput",
           "The capacity sweep: closed-loop clients (one command in flight each; from left to "
           "right 1, then more clients per point) on a 1 µs network, so that the runtime, not "
           "the network, is the limit. x: committed commands per second; y: the driver's p50 "
           "(solid, dots) and p99 (dotted, triangles) propose-to-ack time; each point is the "
           "median over trials. Where the line turns up, the runtime is saturated."),
     _v(capacity_curve)),
    (Chart("cpu_per_command", "CPU per committed command",
           "CPU time the driver spent during the trial (interpreter start-up excluded; records "
           "of older drivers, without cpu_trial_s, fall back to the whole process's CPU from "
           "wait4) over the commands it committed, per closed-loop client count of the "
           "capacity sweep (the replication variants in runs without it). " + _CI_NOTE),
     _v(cpu_per_command)),
    (Chart("stable_n", "Largest stable N",
           "N doubles (then bisects) until an implementation fails to hold one leader (no term "
           "change) for the whole hold time; the bar is the largest N that held, the note why "
           "the search stopped (or that it held at every N it tried: a lower bound)."),
     stable_n),
    (Chart("heartbeat_lag", "Heartbeat lag vs N",
           "Scale scenario, one leader held: the gap between AppendEntries arrivals at each "
           "follower, p99 (left) and largest (right) over followers and time. The dotted line "
           "is the nominal heartbeat; a gap beyond the election timeout (150 ms) starts an "
           "election. " + _CI_NOTE), _v(heartbeat_lag)),
    (Chart("cpu_per_message", "CPU per message vs N",
           "Scale scenario: CPU time the driver spent during the trial (as for CPU per "
           "command) over the messages its nodes handled. The simulators' figure is what "
           "simulating costs, not a runtime's. " + _CI_NOTE), _v(cpu_per_message)),
    (Chart("rss_vs_n", "Memory vs N",
           "Scale scenario: peak resident set size of the driver process (Linux VmHWM, polled "
           "every 10 ms), one dot per trial (hollow: the trial lost its leader), with each "
           "implementation's least-squares line over the trials that held (scipy.stats."
           "linregress); its slope, in the legend, is the memory per node."),
     _v(rss_vs_n)),
    (Chart("election_vs_n", "Election time vs N",
           "Trial time from start (all nodes followers, empty logs) to the first leader, as "
           "reported by the driver; median over trials, band = IQR."), _v(election_vs_n)),
    (Chart("failover_cdf", "Failover time (CDF)",
           "Raft paper §9.3: with a stable leader, wait a random time below the heartbeat, "
           "crash the leader, time until a leader of a higher term. Every failover of every "
           "trial pooled."), _v(failover_cdf)),
    (Chart("failover_vs_ideal", "Failover vs the ideal (simulator)",
           "Quantile-quantile plot of each implementation's failover times against the "
           "simulator's (same scenario, virtual time). On the dotted diagonal an "
           "implementation adds nothing to the ideal."), _v(failover_vs_ideal)),
    (Chart("throughput_vs_n", "Throughput vs N",
           "Closed-loop clients, one command in flight each, for a fixed duration (light: 1 "
           "client; saturated: hundreds of clients and AppendEntries of up to 1024 entries, so "
           "that the runtime, not the network model, limits); committed commands per second; "
           "band = IQR."), _v(throughput_vs_n)),
    (Chart("latency_vs_n", "Commit latency vs N",
           "Per trial, the driver's nearest-rank p50 and p99 of propose-to-ack time; the line "
           "is the median of those over trials, band = IQR."), _v(latency_vs_n)),
    (Chart("rss_per_node", "Peak RSS per node vs N",
           "Peak resident set size of the driver process, polled from outside every 10 ms "
           "(Linux VmHWM), divided by N; band = IQR."), _v(rss_per_node)),
    (Chart("threads_vs_n", "OS threads vs N",
           "Peak OS thread count of the driver process, polled from outside every 10 ms; "
           "band = IQR."), _v(threads_vs_n)),
]


def paper_ranges(vals: pd.DataFrame) -> bool:
    variants = set(_sel(vals, "failover", "failover_ms").variant)
    return len(variants) > 1


def figure16(vals: pd.DataFrame) -> Figure | None:
    """figure16: the Raft paper's Figure 16, one row per implementation."""
    df = _sel(vals, "failover", "failover_ms")
    if not paper_ranges(vals):
        return None
    ideal = _ideal(df)
    impls = [i for i in _impls(df) if i not in SIMULATORS] or ([ideal] if ideal else [])
    fig, grid = plt.subplots(len(impls), 2, figsize=(12, 3.8 * len(impls)), squeeze=False)
    cmap = plt.get_cmap("viridis")
    for r, impl in enumerate(impls):
        for c, ranges in enumerate((PAPER_TOP, PAPER_BOTTOM)):
            ax = grid[r][c]
            for k, (lo, hi) in enumerate(ranges):
                name, color = f"{lo:g}-{hi:g}", cmap(k / max(len(ranges) - 1, 1))
                sel = df[(df.variant == name)]
                if sel.empty:
                    continue
                _ecdf(ax, sel[sel.impl == impl].value.to_numpy(), color=color, label=f"{name} ms")
                if ideal and ideal != impl:
                    _ecdf(ax, sel[sel.impl == ideal].value.to_numpy(), color=color,
                          linestyle=":", linewidth=1)
            ax.set_xscale("log" if c == 0 else "linear")
            _paper_points(ax, "top" if c == 0 else "bottom")
            vs = f" (solid) vs {ideal} (dotted)" if ideal and ideal != impl else ""
            ax.set(title=f"{impl}{vs}, {'top' if c == 0 else 'bottom'} row",
                   xlabel="time without leader (ms)", ylabel="cumulative %")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def _paper_points(ax: Axes, row: str) -> None:
    """_paper_points marks the figures the paper's text quotes (bench/paper.py)."""
    for p in PAPER_POINTS:
        if p.row != row:
            continue
        if p.percent is None:  # an average has no place on a CDF: a vertical tick
            ax.axvline(p.ms, color="black", linestyle="--", linewidth=0.8, label=p.label)
        else:
            ax.plot([p.ms], [p.percent], marker="D", color="black", linestyle="none",
                    label=p.label)


FIGURE16 = Chart("figure16", "Raft paper Figure 16 reproduction",
                 "5 nodes, failover scenario per election timeout range (left: 150-150 to "
                 "150-300 ms, log x; right: 12-24 to 150-300 ms). With the paper preset the "
                 "heartbeat is half the minimum timeout, as in the paper. Colour is the range "
                 "(not the implementation) here, as in the paper; dotted: the simulator. Black "
                 "diamonds and the dashed line: the figures the paper's text quotes (median, "
                 "worst case, average, maximum; source in docs/benchmarking.md).")


def render_all(vals: pd.DataFrame, out: Path,
               search: pd.DataFrame | None = None) -> list[tuple[Chart, Path]]:
    """render_all writes each chart the data allows as PNG and SVG; returns the PNGs.
    search is bench.analyze.scale_search's table (the largest stable N's reasons)."""
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for chart, fn in [*CHARTS, (FIGURE16, _v(figure16))]:
        fig = fn(vals, search)
        if fig is None:
            continue
        png = out / f"{chart.name}.png"
        fig.savefig(png, dpi=100, bbox_inches="tight")
        fig.savefig(out / f"{chart.name}.svg", bbox_inches="tight")
        plt.close(fig)
        made.append((chart, png))
    return made
