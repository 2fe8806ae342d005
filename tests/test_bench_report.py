"""Report and compare from the committed fixture run (a tiny real run, see make_fixture.py),
and the whole page from synthetic values with every scenario the report charts."""

import base64
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from bench import analyze, charts, report, store, verdict
from bench.cli import app
from bench.impls import ALL_IMPLS
from bench.units import count, fmt, fmt_ci, fmt_range, number

FIXTURE_RUN = Path(__file__).parent / "fixtures" / "bench" / "run"
IMPLS = {"py-threads", "py-asyncio", "py-sim"}
PNG_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("report") / "run"
    shutil.copytree(FIXTURE_RUN, run)
    res = CliRunner().invoke(app, ["report", str(run)])
    assert res.exit_code == 0, res.output
    return run


def test_summary_is_tidy_with_statistics(reported: Path) -> None:
    df = pd.read_csv(reported / "summary.csv")
    assert list(df.columns) == ["impl", "scenario", "variant", "nodes", "metric", "unit", "n",
                                "median", "ci_low", "ci_high", "p10", "p90", "p99", "failures"]
    assert not df.duplicated(["impl", "scenario", "variant", "nodes", "metric"]).any()
    el = df[(df.scenario == "election") & (df.metric == "first_leader_ms")]
    assert set(el.impl) == IMPLS and set(el.nodes) == {3, 5}
    assert (el.n == 2).all() and (el.ci_low <= el["median"]).all()
    fo = df[(df.metric == "failover_ms")]
    assert (fo.n == 6).all()  # 2 trials x 3 crashes, pooled
    assert set(df[df.scenario == "replication"].variant) == {"light", "saturated"}
    stable = df[df.metric == "largest_stable_n"]
    assert set(stable.impl) == IMPLS and (stable["median"] == 12).all()
    assert (df.failures == 0).all()


def _embedded_pngs(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in PNG_URI.findall(html)]


def _assert_drawn(png: bytes) -> None:
    """_assert_drawn: a real PNG, more than a few hundred bytes, not all white."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 500
    im = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    assert im.size > 0 and (im < 200).mean() > 0.001  # some ink on the page


def test_charts_are_written_as_png_and_svg(reported: Path) -> None:
    # The fixture has election, failover, replication and scale (no capacity sweep).
    expected = {"election_vs_n", "failover_cdf", "failover_vs_ideal", "throughput_vs_n",
                "latency_vs_n", "rss_per_node", "threads_vs_n", "cpu_per_command",
                "stable_n", "rss_vs_n"}
    for name in expected:
        assert (reported / "charts" / f"{name}.png").stat().st_size > 1000, name
        assert (reported / "charts" / f"{name}.svg").is_file(), name
    assert not (reported / "charts" / "capacity_curve.png").exists()


def test_report_html_is_self_contained(reported: Path) -> None:
    html = (reported / "report.html").read_text()
    pngs = _embedded_pngs(html)
    assert len(pngs) == len(list((reported / "charts").glob("*.png"))) >= 10
    for png in pngs:
        _assert_drawn(png)
    assert 'src="http' not in html and "<link" not in html
    for text in ("Environment", "Method", "Failed trials", "cyclomatic", "py-asyncio",
                 "first_leader_ms", "trial", "Verdict", "Scale search"):
        assert text in html, text


def _text(html: str) -> str:
    """_text: the page without its embedded images."""
    return PNG_URI.sub("", html)


def test_report_opens_with_the_verdict_and_ends_with_the_long_tables(reported: Path) -> None:
    html = _text((reported / "report.html").read_text())
    heads = ["Verdict", "Headline measures", "Scale search", "Charts", "All key metrics",
             "Code (", "Failed trials", "Environment"]
    at = [html.index(f"<h2>{h}") for h in heads]
    assert at == sorted(at), list(zip(heads, at, strict=True))


def test_report_numbers_are_readable(reported: Path) -> None:
    html = _text((reported / "report.html").read_text())
    assert not re.search(r"\d\.\d+e[+-]\d+", html), "scientific notation in the page"
    assert "cmd/s" in html and " ms<" in html


def test_old_runs_say_what_they_lack(reported: Path) -> None:
    # The fixture has no capacity sweep: no throughput or CPU verdict, said in words.
    html = _text((reported / "report.html").read_text())
    assert "Not measured in this run" in html and "max sustained throughput" in html


def test_headline_csv_has_the_exact_columns(reported: Path) -> None:
    df = pd.read_csv(reported / "headline.csv")
    assert list(df.columns) == ["measure", "nodes", "impl", "median", "ci_low", "ci_high",
                                "unit", "bound"]
    assert (reported / "verdict.md").read_text().strip()


def test_an_empty_run_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "empty"
    shutil.copytree(FIXTURE_RUN, run)
    warmups = [json.dumps(r) for r in store.load_records(run) if r["warmup"]]
    (run / store.RESULTS).write_text("\n".join(warmups) + "\n")
    res = CliRunner().invoke(app, ["report", str(run)])
    assert res.exit_code == 2, res.output
    assert "has no measured trials" in res.output
    assert not (run / "report.html").exists()
    (run / store.RESULTS).write_text("")
    with pytest.raises(store.StoreError, match="no measured trials"):
        report.make_report(run)


def test_key_table_sorts_n_numerically_and_impls_in_order() -> None:
    rows = [{"impl": impl, "scenario": "scale", "variant": "hold-1s", "nodes": n,
             "metric": "rss_peak_kb", "unit": "KiB", "median": 25600.0 + n, "failures": 0}
            for n in (17, 3, 5, 768) for impl in ("py-sim", "py-asyncio", "go")]
    rows += [{"impl": "go", "scenario": "capacity", "variant": v, "nodes": 3,
              "metric": "throughput_ops_s", "unit": "ops/s", "median": 37345.0, "failures": 1}
             for v in ("c256", "c16", "c1")]
    table = report.key_table(pd.DataFrame(rows).astype({"nodes": "Int64"}))
    assert list(table.columns) == ["scenario", "variant", "metric", "N", "go", "py-asyncio",
                                   "py-sim"]
    scale = table[table.scenario == "scale"]
    assert list(scale.N) == ["3", "5", "17", "768"]
    assert list(table[table.scenario == "capacity"].variant) == ["c1", "c16", "c256"]
    assert table.iloc[0].go == "37.3 k cmd/s*"  # capacity first; * = failed trials
    assert scale.iloc[0].go == "25 MB"


@pytest.mark.parametrize(("value", "unit", "text"), [
    (37345, "cmd/s", "37.3 k cmd/s"), (160.4, "cmd/s", "160 cmd/s"),
    (1.234e6, "ops/s", "1.23 M ops/s"), (999.7, "cmd/s", "1 k cmd/s"),
    (25600, "KiB", "25 MB"), (812, "KiB", "812 KB"), (0.5, "KiB", "512 B"),
    (3 * 1024**2, "KiB", "3 GB"), (1.2, "ms", "1.2 ms"), (183.4, "ms", "183 ms"),
    (2043, "ms", "2.04 s"), (0.35, "ms", "350 µs"), (35, "µs", "35 µs"),
    (999.9, "µs", "1 ms"), (0.0046855, "s", "4.69 ms"), (16384, "nodes", "16,384 nodes"),
    (1, "threads", "1 thread"), (386, "threads", "386 threads"), (5.9, "ratio", "5.9×"),
    (0.9612, "ratio", "0.961×"), (1.0, "fraction", "100%"), (33120.0, "", "33,120"),
    (12345.678, "", "12,300"), (0, "ms", "0 ms"), (float("nan"), "ms", "–"), (None, "µs", "–"),
])
def test_units_format_for_readers(value: Any, unit: str, text: str) -> None:
    assert fmt(value, unit) == text


def test_units_ranges_and_numbers() -> None:
    assert fmt_range(5.1, 6.8, "ratio") == "5.1–6.8×"
    assert fmt_range(35, 40, "µs") == "35–40 µs"
    assert fmt_range(36100, 38000, "cmd/s") == "36.1–38 k cmd/s"
    assert fmt_range(812, 1300, "KiB") == "812 KB – 1.27 MB"
    assert fmt_ci(37300, 36100, 38000, "cmd/s") == "37.3 k cmd/s (36.1–38 k cmd/s)"
    assert fmt_ci(37300, float("nan"), 1, "cmd/s") == "37.3 k cmd/s"
    assert number(0.012345) == "0.0123" and number(-2.5) == "-2.5" and count(1e6) == "1,000,000"


def test_figure16_from_paper_style_values() -> None:
    rows = [(impl, "failover", f"{lo}-{hi}", 5, t, "failover_ms", lo + t)
            for impl in ("py-asyncio", "py-sim")
            for lo, hi in [(150, 150), (150, 300), (12, 24)] for t in range(5)]
    vals = pd.DataFrame(rows, columns=[*analyze.KEYS, "trial", "metric", "value"])
    fig = charts.figure16(vals)
    assert fig is not None and len(fig.axes) == 2
    top, bottom = fig.axes
    labels = [t.get_text() for t in top.get_legend().get_texts()]
    assert "paper 150-155: median 287 ms" in labels  # the paper's figures stand beside ours
    assert any("152 ms" in t.get_text() for t in bottom.get_legend().get_texts())


def test_the_paper_preset_beats_at_half_the_minimum_timeout() -> None:
    from bench import plan, presets

    cfg = presets.preset_config("paper", ["go"])
    for variant, heartbeat in (("150-155", 75.0), ("12-24", 6.0)):
        sc = plan.driver_scenario(cfg, "failover", 5, variant, 0)
        assert sc["heartbeat_ms"] == heartbeat
        assert sc["storage"] == "file"  # persisting is part of the broadcast time
    assert plan.heartbeat_for(150) == 50.0  # other presets keep 50 ms, in memory
    assert "storage" not in plan.driver_scenario(presets.preset_config("quick", ["go"]),
                                                 "failover", 5, "150-300", 0)


def test_figure16_is_skipped_for_a_single_range() -> None:
    recs = store.load_records(FIXTURE_RUN)
    assert charts.figure16(analyze.values(recs)) is None


def _copy_with(tmp: Path, name: str, scale: float = 1.0, host: str | None = None) -> Path:
    """_copy_with copies the fixture, multiplying py-threads failover times by scale."""
    run = tmp / name
    shutil.copytree(FIXTURE_RUN, run)
    lines = []
    for rec in store.load_records(run):
        if rec["key"]["impl"] == "py-threads" and rec["result"]:
            m = rec["result"]["metrics"]
            m["failover_ms"] = [v * scale for v in m["failover_ms"]]
        lines.append(json.dumps(rec))
    (run / store.RESULTS).write_text("\n".join(lines) + "\n")
    if host:
        env = json.loads((run / store.ENV).read_text())
        env["machine"]["hostname"] = host
        (run / store.ENV).write_text(json.dumps(env))
    return run


def test_compare_a_run_with_itself_finds_no_regression(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["compare", str(FIXTURE_RUN), str(FIXTURE_RUN)])
    assert res.exit_code == 0, res.output
    assert "0 significant" in res.output


def test_compare_flags_a_slower_failover(tmp_path: Path) -> None:
    slow = _copy_with(tmp_path, "slow", scale=3.0)
    res = CliRunner().invoke(app, ["compare", str(FIXTURE_RUN), str(slow)])
    assert res.exit_code == 1, res.output
    assert "REGRESSION" in res.output and "failover_ms" in res.output
    # The same change the other way round is an improvement, not a regression.
    res = CliRunner().invoke(app, ["compare", str(slow), str(FIXTURE_RUN)])
    assert res.exit_code == 0, res.output
    # Beyond the threshold only: a 3x slowdown is under a 500% threshold.
    res = CliRunner().invoke(app, ["compare", str(FIXTURE_RUN), str(slow), "--threshold", "5"])
    assert res.exit_code == 0, res.output


def test_compare_refuses_runs_from_different_machines(tmp_path: Path) -> None:
    other = _copy_with(tmp_path, "other", host="elsewhere")
    res = CliRunner().invoke(app, ["compare", str(FIXTURE_RUN), str(other)])
    assert res.exit_code == 0, res.output  # a new hostname alone is the same machine
    env = json.loads((other / store.ENV).read_text())
    env["machine"]["cpu_model"] = "Intel Xeon"
    (other / store.ENV).write_text(json.dumps(env))
    res = CliRunner().invoke(app, ["compare", str(FIXTURE_RUN), str(other)])
    assert res.exit_code == 2 and "different machines: cpu_model" in res.output
    assert len(res.output.strip().splitlines()) == 1
    res = CliRunner().invoke(app, ["compare", str(FIXTURE_RUN), str(other), "--force"])
    assert res.exit_code == 0, res.output


# The whole page from synthetic values: every scenario, so every chart.

SPEED = {"go": 1.0, "go-1p": 0.8, "py-threads": 0.25, "py-asyncio": 0.35,
         "py-asyncio-uvloop": 0.5, "py-sim": 1.5, "go-sim": 1.5}
LIMIT = {"go": 16384, "go-1p": 12288, "py-threads": 1536, "py-asyncio": 6144,
         "py-asyncio-uvloop": 8192, "py-sim": 65536, "go-sim": 65536}
REASON = {"go": "memory", "go-1p": "a follower timed out", "py-threads": "a follower timed out",
          "py-asyncio": "time limit", "py-asyncio-uvloop": "a follower timed out"}


def synthetic_values(trials: int = 5) -> pd.DataFrame:
    """synthetic_values: a seeded tidy table with every scenario the report charts; the
    capacity point c1024 has 3 trials (dots, no CI), the others `trials`."""
    rng = np.random.default_rng(7)
    rows: list[tuple[Any, ...]] = []

    def add(impl: str, sc: str, var: str, n: int, t: int, metric: str, v: float) -> None:
        rows.append((impl, sc, var, n, t, metric, float(v)))

    for impl in ALL_IMPLS:
        s = SPEED[impl]
        for t in range(trials):
            for n in (3, 5, 9):
                add(impl, "election", "cold", n, t, "first_leader_ms", rng.normal(180, 10))
                for _ in range(3):
                    add(impl, "failover", "150-300", n, t, "failover_ms", rng.normal(165, 15))
                for var, c in (("light", 1), ("saturated", 256)):
                    add(impl, "replication", var, n, t, "throughput_ops_s",
                        min(c * 200, 40000 * s / (1 + n / 20)) * rng.uniform(0.95, 1.05))
                    add(impl, "replication", var, n, t, "commit_p50_ms", rng.uniform(2, 5))
                    add(impl, "replication", var, n, t, "commit_p99_ms", rng.uniform(5, 20))
                    add(impl, "replication", var, n, t, "cpu_us_per_cmd", 30 / s)
                    add(impl, "replication", var, n, t, "rss_per_node_kb", 20000 / n)
                    add(impl, "replication", var, n, t, "threads_peak", 4)
            for n in (3, 33):
                for c in (1, 16, 256, 1024):
                    if c == 1024 and t >= 3:
                        continue
                    thr = 45000 * s / (1 + n / 30) * c / (c + 20) * rng.uniform(0.95, 1.05)
                    lat = c / thr * 1000
                    for metric, v in (("throughput_ops_s", thr), ("commit_p50_ms", lat),
                                      ("commit_p99_ms", lat * rng.uniform(2, 4)),
                                      ("cpu_us_per_cmd", 25 / s * (1 + 10 / c))):
                        add(impl, "capacity", f"c{c}", n, t, metric, v)
        sizes = [3 * 2**k for k in range(15) if 3 * 2**k <= min(2 * LIMIT[impl], 65536)]
        if LIMIT[impl] < 65536:
            sizes.append(int(LIMIT[impl] * 1.25))  # a bisection point
        for n in sizes:  # one trial per N
            add(impl, "scale", "hold-1s", n, 0, "stable", float(n <= LIMIT[impl]))
            add(impl, "scale", "hold-1s", n, 0, "hb_gap_p99_ms", 50 + n / 40 / s)
            add(impl, "scale", "hold-1s", n, 0, "hb_gap_max_ms", 55 + n / 20 / s)
            add(impl, "scale", "hold-1s", n, 0, "cpu_us_per_msg", 4 / s)
            add(impl, "scale", "hold-1s", n, 0, "rss_peak_kb", 15000 + n * 8 / s)
            add(impl, "scale", "hold-1s", n, 0, "rss_per_node_kb", (15000 + n * 8 / s) / n)
            add(impl, "scale", "hold-1s", n, 0, "threads_peak", 4)
    df = pd.DataFrame(rows, columns=[*analyze.KEYS, "trial", "metric", "value"])
    ok = df.drop_duplicates([*analyze.KEYS, "trial"]).assign(metric="ok", value=1.0)
    return pd.concat([df, ok], ignore_index=True)


def synthetic_search(vals: pd.DataFrame) -> pd.DataFrame:
    st = vals[(vals.scenario == "scale") & (vals.metric == "stable")]
    out = st.assign(held=st.value >= 1)[["impl", "nodes", "held"]].reset_index(drop=True)
    out["reason"] = ["" if h else REASON.get(i, "no leader")
                     for i, h in zip(out.impl, out.held, strict=True)]
    return out


def synthetic_headline(vals: pd.DataFrame) -> tuple[pd.DataFrame, verdict.Samples]:
    """synthetic_headline: capacity at c256 (5 trials), py-threads harness-bound at N=33."""
    rows, samples = [], {}
    for n in (3, 33):
        for impl in ALL_IMPLS:
            for measure, metric, unit in (("max_sustained_throughput", "throughput_ops_s",
                                           "cmd/s"), ("cpu_per_command", "cpu_us_per_cmd", "µs")):
                x = vals[(vals.scenario == "capacity") & (vals.variant == "c256")
                         & (vals.nodes == n) & (vals.impl == impl)
                         & (vals.metric == metric)].value.to_numpy()
                bound = "harness" if (impl, n) == ("py-threads", 33) else "runtime"
                rows.append({"measure": measure, "nodes": n, "impl": impl,
                             "median": float(np.median(x)), "ci_low": np.nan,
                             "ci_high": np.nan, "unit": unit, "bound": bound})
                samples[(measure, n, impl)] = x
    for impl, best in (("go", 12288), ("py-threads", 1536), ("py-asyncio", 6144)):
        rows.append({"measure": "largest_stable_n", "nodes": None, "impl": impl,
                     "median": best, "ci_low": np.nan, "ci_high": np.nan, "unit": "nodes",
                     "bound": "runtime"})
    return pd.DataFrame(rows).astype({"nodes": "Int64"}), samples


@pytest.fixture(scope="module")
def full_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("full") / "run"
    shutil.copytree(FIXTURE_RUN, run)
    vals = synthetic_values()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(analyze, "values", lambda records: vals)
        mp.setattr(analyze, "headline", synthetic_headline, raising=False)
        mp.setattr(analyze, "scale_search", lambda records: synthetic_search(vals),
                   raising=False)
        report.make_report(run)
    return run


def test_every_chart_is_embedded_and_drawn(full_report: Path) -> None:
    html = (full_report / "report.html").read_text()
    pngs = _embedded_pngs(html)
    assert len(pngs) == len(charts.CHARTS)  # one failover range: no Figure 16
    for chart, _ in charts.CHARTS:
        assert f"<h3>{chart.title}</h3>" in html, chart.name
    for png in pngs:
        _assert_drawn(png)


def test_full_report_verdict_and_tables(full_report: Path) -> None:
    html = _text((full_report / "report.html").read_text())
    assert html.index("<h2>Verdict") < html.index("<h2>Charts") < html.index("<h2>All key")
    assert "go sustains" in html and "the throughput of py-asyncio at N=3" in html
    assert "harness-bound: no conclusion" in html
    assert "failed at 1,920: a follower timed out" in html  # the scale search's reason
    assert "16,384 ✗" in html or "24,576 ✗" in html
    assert not re.search(r"\d\.\d+e[+-]\d+", html)
    head = pd.read_csv(full_report / "headline.csv")
    assert list(head.columns) == verdict.HEADLINE_COLUMNS
    assert head[head.measure == "largest_stable_n"].nodes.isna().all()
    md = (full_report / "verdict.md").read_text()
    assert md.startswith("| measure | N | go ÷ py-threads |")


# Charts, one by one.


def test_capacity_curve_panels_start_at_zero_throughput() -> None:
    fig = charts.capacity_curve(synthetic_values())
    assert fig is not None
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title().split(":")[0] for ax in axes] == ["N=3", "N=33"]
    for ax in axes:
        assert ax.get_xlim()[0] == 0 and ax.get_yscale() == "log"


def test_ci_bars_only_from_five_trials() -> None:
    from matplotlib.collections import PathCollection
    from matplotlib.container import ErrorbarContainer

    rows = [("go", "scale", "v", 3, t, "m", 10.0 + t) for t in range(5)]
    rows += [("go", "scale", "v", 6, t, "m", 20.0 + t) for t in range(4)]
    df = pd.DataFrame(rows, columns=[*analyze.KEYS, "trial", "metric", "value"])
    fig, (ax,) = charts._panels(1)
    charts._median_ci_lines(ax, df)
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(bars) == 1 and len(dots) == 1 and len(dots[0].get_offsets()) == 4


def test_cpu_axes_start_at_zero_and_the_heartbeat_is_marked() -> None:
    vals = synthetic_values()
    for fn in (charts.cpu_per_command, charts.cpu_per_message):
        fig = fn(vals)
        assert fig is not None
        assert all(ax.get_ylim()[0] == 0 for ax in fig.axes if ax.get_title()), fn.__name__
    fig = charts.heartbeat_lag(vals)
    assert fig is not None
    for ax in fig.axes[:2]:
        assert any(list(line.get_ydata()) == [50.0, 50.0] for line in ax.get_lines())


def test_rss_fit_slope_is_memory_per_node() -> None:
    vals = synthetic_values()
    fits = charts.rss_fit(vals)
    assert fits["go"][0] == pytest.approx(8.0) and fits["py-threads"][0] == pytest.approx(32.0)
    fig = charts.rss_vs_n(vals)
    assert fig is not None
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "go: 8 KB per node" in labels


def test_stable_n_names_why_each_search_ended() -> None:
    vals = synthetic_values()
    fig = charts.stable_n(vals, synthetic_search(vals))
    assert fig is not None
    notes = {t.get_text() for t in fig.axes[0].texts}
    assert "failed at 20,480: memory" in notes and "held at every N tried" in notes
    widths = [int(p.get_width()) for p in fig.axes[0].patches]
    assert widths[0] == 12288 and widths[2] == 1536  # go, then go-1p, py-threads


def test_every_implementation_is_drawn_in_a_style_of_its_own() -> None:
    from bench.impls import TCP_IMPLS

    impls = {*ALL_IMPLS, *TCP_IMPLS}
    styles = {impl: (charts.style(impl)["color"], charts.style(impl)["linestyle"])
              for impl in impls}
    assert impls <= set(charts.COLORS), "none falls back to the default"
    assert len(set(styles.values())) == len(styles), styles
    assert styles["go-tcp"][0] == styles["go"][0], "a TCP driver keeps its twin's colour"
