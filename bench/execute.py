"""Execute: create the run directory, run the trials with a progress bar, report."""

import sys

from rich.console import Console

from bench import envinfo, store
from bench.lock import run_lock
from bench.progress import RichListener
from bench.runner import Runner
from bench.session import Session


def warn(message: str) -> None:
    print(message, file=sys.stderr)


def execute(s: Session, console: Console, report: bool) -> int:
    """execute runs a session; the exit status is 130 when interrupted, else 0.

    It holds the run directory's lock throughout (bench.lock), taken on a resume
    before anything is written; StoreError when another process holds it.
    """
    for w in s.warnings:
        console.print(w)
    if not s.resumed:
        store.create_run(s.path, s.cfg, envinfo.collect())
    with run_lock(s.path):
        if s.resumed:
            store.repair(s.path, warn)
            store.load_records(s.path, warn)  # says so if trials are stored twice
        return _execute(s, console, report)


def _execute(s: Session, console: Console, report: bool) -> int:
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
