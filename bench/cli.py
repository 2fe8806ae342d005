"""The `raftbench` command line: thin typer commands over the bench modules.

Bad input ends in one line, `error: ...`, and exit status 2, before anything is
written. The heavy modules (pandas, scipy, matplotlib) are imported inside the
commands that need them, so that `--help`, `env` and `runs` answer at once.
"""

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from bench import __version__, args, session, store
from bench.impls import ALL_IMPLS
from bench.presets import SCENARIOS, Preset
from bench.typer_errors import OneLineErrors

app = typer.Typer(
    cls=OneLineErrors,
    help="raftbench: one Raft cluster, run as Go goroutines, Python threads and Python "
    "asyncio, measured alike.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=code)


RUN_EXAMPLES = """
Examples:

  raftbench run                                   # quick preset, every available impl

  raftbench run --preset standard --impl go,py-asyncio

  raftbench run --scenario election --sizes 3,5,9 --trials 5

  raftbench run --resume results/20250101-120000-quick
"""


@app.command(epilog=RUN_EXAMPLES)
def run(
    preset: Annotated[Preset | None, typer.Option(
        help="Settings for a time budget: quick (~3 min), standard (~20 min), full (hours), "
        "paper (Raft Figure 16).")] = None,
    impl: Annotated[list[str] | None, typer.Option(
        help=f"Implementations, comma-separated: {', '.join(ALL_IMPLS)}. "
        "Default: every one that can run here.")] = None,
    scenario: Annotated[list[str] | None, typer.Option(
        help=f"Scenarios, comma-separated: {', '.join(SCENARIOS)}. Default: the preset's.")] = None,
    sizes: Annotated[list[str] | None, typer.Option(
        help="Cluster sizes N for election, failover, replication, e.g. 3,5,9.")] = None,
    trials: Annotated[int | None, typer.Option(help="Measured trials per cell.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Run directory "
                       "(default: results/<timestamp>-<preset>).")] = None,
    resume: Annotated[Path | None, typer.Option(help="Finish this interrupted run; "
                      "trials already stored are not repeated.")] = None,
    trial_timeout: Annotated[float | None, typer.Option(help="Kill a driver after this "
                             "many seconds (default: the preset's).")] = None,
    results_dir: Annotated[Path, typer.Option(help="Where new runs go.")] = Path("results"),
    report: Annotated[bool, typer.Option(help="Write the report at the end.")] = True,
    memory_cap: Annotated[float | None, typer.Option(help="Kill a driver whose peak RSS "
                          "passes this many MB; it is recorded as failed, reason "
                          "'memory' (default: 4096).")] = None,
) -> None:
    """Run trials (one fresh driver process each) and append them to results.jsonl."""
    from bench.execute import execute

    try:
        if resume is not None:
            given = {"--preset": preset, "--impl": impl, "--scenario": scenario,
                     "--sizes": sizes, "--trials": trials, "--out": out_dir,
                     "--trial-timeout": trial_timeout, "--memory-cap": memory_cap}
            s = session.resume(resume, given)
        else:
            s = session.new((preset or Preset.quick).value, impl, scenario, sizes, trials,
                            out_dir, results_dir, trial_timeout, memory_cap)
    except (args.ArgError, store.StoreError) as e:
        fail(str(e))
    try:
        code = execute(s, out, report)
    except store.StoreError as e:  # another process holds the run directory
        fail(str(e))
    raise typer.Exit(code=code)


@app.command("report")
def report_cmd(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run directory.")],
) -> None:
    """Write summary.csv, charts/ (PNG and SVG) and report.html into RUN_DIR."""
    from bench.lock import run_lock
    from bench.report import make_report

    try:
        store.check_run_dir(run_dir)
        with run_lock(run_dir):  # refused while a run is still writing RUN_DIR
            store.load_records(run_dir, lambda m: typer.echo(m, err=True))
            html = make_report(run_dir)
    except store.StoreError as e:
        fail(str(e))
    out.print(f"report: {html}")


@app.command()
def compare(
    base: Annotated[Path, typer.Argument(metavar="BASE_RUN", help="The baseline run directory.")],
    new: Annotated[Path, typer.Argument(
        metavar="NEW_RUN", help="The run directory to compare with it.")],
    threshold: Annotated[float, typer.Option(help="A significant change for the worse "
                         "beyond this fraction is a regression (exit 1).")] = 0.1,
    alpha: Annotated[float, typer.Option(help="Significance level, applied to the p values "
                     "adjusted by Benjamini-Hochberg.")] = 0.05,
    force: Annotated[bool, typer.Option(help="Compare runs made on different machines or "
                     "with different settings; the differences are printed.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print every cell as JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print every cell as CSV.")] = False,
) -> None:
    """Compare two runs as benchstat does: every cell with each run's median and 95% CI,
    Mann-Whitney U with Benjamini-Hochberg, a geometric mean per implementation.
    Exit 1 on a regression (a significant change for the worse beyond --threshold, or
    a cell that failed or went missing in NEW)."""
    from bench.compare import Mismatch, compare_runs, render_text, to_csv, to_json

    if threshold < 0:
        fail(f"--threshold: must not be negative, got {threshold:g}")
    if not 0 < alpha < 1:
        fail(f"--alpha: must be between 0 and 1, got {alpha:g}")
    if as_json and as_csv:
        fail("--json and --csv: choose one")
    try:
        res = compare_runs(base, new, force=force, alpha=alpha, threshold=threshold,
                           warn=lambda m: typer.echo(m, err=True))
    except (store.StoreError, Mismatch) as e:
        fail(str(e))
    if as_json:
        typer.echo(to_json(res))
    elif as_csv:
        typer.echo(to_csv(res), nl=False)
    else:
        typer.echo(render_text(res, color=out.is_terminal))
    raise typer.Exit(code=1 if res.regressions else 0)


@app.command()
def check(
    impl: Annotated[list[str] | None, typer.Option(
        help="Implementations, comma-separated (default: every one that can run here).")] = None,
    trace_dir: Annotated[Path | None, typer.Option(help="Keep the traces here.")] = None,
) -> None:
    """Run the fault suite with --trace on each implementation and check every trace."""
    from bench.checks import render, run_checks

    try:
        names, missing = args.impls(impl)
    except args.ArgError as e:
        fail(str(e))
    for name, why in missing.items():
        out.print(f"warning: {name} skipped: {why}")
    try:
        rows = run_checks(names, trace_dir, out)
    except ImportError as e:  # bench.tracecheck is written separately
        fail(f"the trace checker is missing: {e}")
    raise typer.Exit(code=0 if render(rows, out) else 1)


@app.command()
def env(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the machine and software (what each run stores as env.json)."""
    from bench.envinfo import collect, render

    info: dict[str, Any] = collect()
    if as_json:
        typer.echo(json.dumps(info, indent=2))
    else:
        render(info, out)


@app.command()
def runs(
    results_dir: Annotated[Path, typer.Option(help="Where runs are stored.")] = Path("results"),
) -> None:
    """List the stored runs: preset, date, trials, implementations; a broken run with why."""
    from bench.runs import list_runs, render

    render(list_runs(results_dir), out)


@app.command()
def version() -> None:
    """Print the raftbench version."""
    typer.echo(f"raftbench {__version__}")


if __name__ == "__main__":
    app()
