"""Report and compare from the committed fixture run (a tiny real run, see make_fixture.py)."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bench import analyze, charts, store
from bench.cli import app

FIXTURE_RUN = Path(__file__).parent / "fixtures" / "bench" / "run"
IMPLS = {"py-threads", "py-asyncio", "py-sim"}


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


def test_charts_are_written_as_png_and_svg(reported: Path) -> None:
    names = {c.name for c, _ in charts.CHARTS}
    for name in names:
        assert (reported / "charts" / f"{name}.png").stat().st_size > 1000, name
        assert (reported / "charts" / f"{name}.svg").is_file(), name


def test_report_html_is_self_contained(reported: Path) -> None:
    html = (reported / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(charts.CHARTS)
    assert 'src="http' not in html and "<link" not in html
    for text in ("Environment", "Method", "Failed trials", "cyclomatic", "py-asyncio",
                 "first_leader_ms", "trial"):
        assert text in html, text


def test_figure16_from_paper_style_values() -> None:
    rows = [(impl, "failover", f"{lo}-{hi}", 5, t, "failover_ms", lo + t)
            for impl in ("py-asyncio", "py-sim")
            for lo, hi in [(150, 150), (150, 300), (12, 24)] for t in range(5)]
    vals = pd.DataFrame(rows, columns=[*analyze.KEYS, "trial", "metric", "value"])
    fig = charts.figure16(vals)
    assert fig is not None and len(fig.axes) == 2


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
    assert res.exit_code == 2 and "different machines" in res.output
    assert len(res.output.strip().splitlines()) == 1
    res = CliRunner().invoke(app, ["compare", str(FIXTURE_RUN), str(other), "--force"])
    assert res.exit_code == 0, res.output
