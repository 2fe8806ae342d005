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
from bench.gate import PROBES
from bench.impls import ALL_IMPLS, ANCHORS
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
        help=f"Implementations, comma-separated: {', '.join([*ALL_IMPLS, *sorted(ANCHORS)])}. "
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


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
             add_help_option=False)
def cluster(ctx: typer.Context) -> None:
    """Run one scenario over TCP, every node its own process (docs/deploy.md):
    --scenario FILE|- [--trace FILE] [--impl go-tcp|py-asyncio-tcp|py-threads-tcp|mixed-tcp]."""
    from bench.cluster.main import main

    raise typer.Exit(code=main(list(ctx.args)))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
             add_help_option=False)
def load(ctx: typer.Context) -> None:
    """Closed-loop clients against a running cluster, on any hosts (docs/deploy.md):
    --nodes HOST:PORT,... [--clients 8] [--duration-ms 2000] [--payload-bytes 16]."""
    from bench.cluster.load import main

    raise typer.Exit(code=main(list(ctx.args)))


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


GATE_EXAMPLES = """
Exit status: 0 no regression, 1 a regression, 2 bad input or a broken setup.

Examples:

  raftbench gate                   # make bench-check

  raftbench gate --record          # make bench-baseline: name HEAD the baseline

  raftbench gate --probes py/handle,py-asyncio/e2e --selftest-slowdown 1.5
"""


@app.command(epilog=GATE_EXAMPLES)
def gate(
    rounds: Annotated[int, typer.Option(help="Rounds; each runs every probe once in "
                      "both trees.")] = 8,
    probes: Annotated[list[str] | None, typer.Option(
        help=f"Probes, comma-separated: {', '.join(PROBES)}. Default: all.")] = None,
    alpha: Annotated[float, typer.Option(help="Significance level of the one-sided "
                     "Mann-Whitney U test, its p values adjusted over the probes "
                     "(Benjamini-Hochberg).")] = 0.01,
    min_effect: Annotated[float, typer.Option(help="A regression is also a median ratio "
                          "above 1 + this.")] = 0.08,
    selftest_slowdown: Annotated[float | None, typer.Option(
        help="Slow this checkout's message handling by this factor (the gate's "
        "self-test).")] = None,
    record: Annotated[bool, typer.Option("--record", help="Name HEAD the baseline and "
                      "store its values (the working tree must be clean).")] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the raw "
                        "values and verdicts here.")] = None,
) -> None:
    """Fail on a real slowdown against the baseline commit, not on noise: both trees run
    the same probes in interleaved rounds (docs/benchmarking.md). Exit 1 on a regression."""
    from bench import gate as g
    from bench.stats import smallest_p_greater

    try:
        opts = g.options(rounds, probes, alpha, min_effect, selftest_slowdown)
    except g.GateError as e:
        fail(str(e))
    if record and (selftest_slowdown is not None or json_out is not None):
        fail("--record: not with --selftest-slowdown or --json")
    if json_out is not None and not json_out.parent.is_dir():
        fail(f"--json: no directory {json_out.parent}")
    smallest = smallest_p_greater(opts.rounds)
    if not record and smallest >= opts.alpha:
        typer.echo(f"note: with --rounds {opts.rounds} the smallest possible p is "
                   f"{smallest:.3g}, not below --alpha {opts.alpha:g}: this run cannot "
                   "show a regression", err=True)
    try:
        if record:
            out.print(f"baseline: {g.BASELINE} names {g.record(opts)}")
            return
        verdicts = g.run_gate(opts, lambda r: typer.echo(f"round {r}/{opts.rounds} done",
                                                           err=True))
    except g.GateError as e:
        fail(str(e))
    except KeyboardInterrupt:
        fail("interrupted", 130)
    typer.echo("\n".join(g.render(verdicts)))
    if json_out is not None:
        json_out.write_text(g.to_json(verdicts))
    raise typer.Exit(code=1 if any(v.regression for v in verdicts.values()) else 0)


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
