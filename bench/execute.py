"""Execute: create the run directory, run the trials with a progress bar, report."""

from rich.console import Console

from bench import envinfo, store
from bench.progress import RichListener
from bench.runner import Runner
from bench.session import Session


def execute(s: Session, console: Console, report: bool) -> int:
    """execute runs a session; the exit status is 130 when interrupted, else 0."""
    for w in s.warnings:
        console.print(w)
    if not s.resumed:
        store.create_run(s.path, s.cfg, envinfo.collect())
    console.print(f"run: {s.path} (preset {s.cfg.preset}; {', '.join(s.cfg.impls)})")
    try:
        with RichListener(console) as listener:
            Runner(s.path, s.cfg, listener).run()
    except KeyboardInterrupt:
        console.print(f"interrupted; finish with: raftbench run --resume {s.path}")
        return 130
    if listener.failed:
        console.print(f"{listener.failed} trial(s) failed; see results.jsonl and the report")
    if report:
        from bench.report import make_report

        console.print(f"report: {make_report(s.path)}")
    return 0
