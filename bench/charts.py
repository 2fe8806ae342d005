"""Charts: one function per figure, from the tidy values table (bench.analyze.values).

Every implementation has one colour in every chart; the simulators (the ideal
reference: virtual time, no scheduling delays) are drawn dashed. A chart whose
data the run lacks is skipped. Lines are medians over trials; bands span the
interquartile range (25th to 75th percentile).
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
from matplotlib.ticker import NullFormatter, ScalarFormatter  # noqa: E402

from bench.analyze import largest_stable  # noqa: E402
from bench.impls import ALL_IMPLS, SIMULATORS  # noqa: E402
from bench.presets import PAPER_BOTTOM, PAPER_TOP  # noqa: E402

COLORS = {
    "go": "#00add8", "go-1p": "#1f4e79", "py-threads": "#d62728", "py-asyncio": "#2ca02c",
    "py-asyncio-uvloop": "#9467bd", "py-sim": "#7f7f7f", "go-sim": "#000000",
}


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    method: str  # how the figure was measured, for the report


def style(impl: str) -> dict[str, Any]:
    return {"color": COLORS.get(impl, "#bcbd22"), "linestyle": "--" if impl in SIMULATORS else "-",
            "label": impl}


def _impls(df: pd.DataFrame) -> list[str]:
    present = set(df.impl)
    return [i for i in ALL_IMPLS if i in present] + sorted(present - set(ALL_IMPLS))


def _sel(vals: pd.DataFrame, scenario: str, metric: str) -> pd.DataFrame:
    return vals[(vals.scenario == scenario) & (vals.metric == metric)]


def _log2_axis(ax: Axes, sizes: list[int]) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(s) for s in sizes])
    ax.set_xlabel("cluster size N (nodes, log2 scale)")


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
    ax.yaxis.set_major_formatter(ScalarFormatter())  # 4, not 4x10^0
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
                band: bool = True) -> Figure | None:
    df = _sel(vals, scenario, metric)
    if df.empty:
        return None
    variants = list(dict.fromkeys(df.variant))
    fig, axes = _panels(len(variants))
    for ax, v in zip(axes, variants, strict=True):
        _median_lines(ax, df[df.variant == v], ylabel, band)
        ax.set_title(f"{title} ({v})")
    _legend(fig, axes[0])
    return fig


def throughput_vs_n(vals: pd.DataFrame) -> Figure | None:
    return _by_variant(vals, "replication", "throughput_ops_s",
                       "throughput (committed commands/s)", "Replication throughput")


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


def cpu_per_command(vals: pd.DataFrame) -> Figure | None:
    return _by_variant(vals, "replication", "cpu_us_per_cmd",
                       "CPU time per committed command (µs)", "CPU per command")


def stable_n(vals: pd.DataFrame) -> Figure | None:
    best = largest_stable(vals)
    if not best:
        return None
    impls = [i for i in ALL_IMPLS if i in best] + sorted(set(best) - set(ALL_IMPLS))
    fig, (ax,) = _panels(1, 7)
    bars = ax.bar(impls, [best[i] for i in impls], color=[COLORS.get(i, "#bcbd22") for i in impls])
    ax.bar_label(bars)
    ax.set_ylabel("largest N with one stable leader (nodes)")
    ax.set_title("Scale: largest stable cluster (up to the preset's maximum)")
    ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    return fig


CHARTS: list[tuple[Chart, Callable[[pd.DataFrame], Figure | None]]] = [
    (Chart("election_vs_n", "Election time vs N",
           "Trial time from start (all nodes followers, empty logs) to the first leader, as "
           "reported by the driver; median over trials, band = IQR."), election_vs_n),
    (Chart("failover_cdf", "Failover time (CDF)",
           "Raft paper §9.3: with a stable leader, wait a random time below the heartbeat, "
           "crash the leader, time until a leader of a higher term. Every failover of every "
           "trial pooled."), failover_cdf),
    (Chart("failover_vs_ideal", "Failover vs the ideal (simulator)",
           "Quantile-quantile plot of each implementation's failover times against the "
           "simulator's (same scenario, virtual time). On the dotted diagonal an "
           "implementation adds nothing to the ideal."), failover_vs_ideal),
    (Chart("throughput_vs_n", "Throughput vs N",
           "Closed-loop clients, one command in flight each, for a fixed duration (light: 1 "
           "client; saturated: hundreds of clients and AppendEntries of up to 1024 entries, so "
           "that the runtime, not the network model, limits); committed commands per second."),
     throughput_vs_n),
    (Chart("latency_vs_n", "Commit latency vs N",
           "Per trial, the driver's nearest-rank p50 and p99 of propose-to-ack time; the line "
           "is the median of those over trials."), latency_vs_n),
    (Chart("rss_per_node", "Peak RSS per node vs N",
           "Peak resident set size of the driver process, polled from outside every 10 ms "
           "(Linux VmHWM), divided by N."), rss_per_node),
    (Chart("threads_vs_n", "OS threads vs N",
           "Peak OS thread count of the driver process, polled from outside every 10 ms."),
     threads_vs_n),
    (Chart("cpu_per_command", "CPU per committed command",
           "User + system CPU of the driver process (from wait4) over committed commands."),
     cpu_per_command),
    (Chart("stable_n", "Largest stable N",
           "N doubles until an implementation fails to hold one leader (no term change) for the "
           "whole observation in every trial, or a trial fails."), stable_n),
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
            vs = f" (solid) vs {ideal} (dotted)" if ideal and ideal != impl else ""
            ax.set(title=f"{impl}{vs}, {'top' if c == 0 else 'bottom'} row",
                   xlabel="time without leader (ms)", ylabel="cumulative %")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


FIGURE16 = Chart("figure16", "Raft paper Figure 16 reproduction",
                 "5 nodes, failover scenario per election timeout range (left: 150-150 to "
                 "150-300 ms, log x; right: 12-24 to 150-300 ms). Heartbeat 50 ms, or half the "
                 "minimum timeout when that is less. Colour is the range (not the "
                 "implementation) here, as in the paper; dotted: the simulator.")


def render_all(vals: pd.DataFrame, out: Path) -> list[tuple[Chart, Path]]:
    """render_all writes each chart the data allows as PNG and SVG; returns the PNGs."""
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for chart, fn in [*CHARTS, (FIGURE16, figure16)]:
        fig = fn(vals)
        if fig is None:
            continue
        png = out / f"{chart.name}.png"
        fig.savefig(png, dpi=100, bbox_inches="tight")
        fig.savefig(out / f"{chart.name}.svg", bbox_inches="tight")
        plt.close(fig)
        made.append((chart, png))
    return made
