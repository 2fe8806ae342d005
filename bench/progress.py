"""Progress: a rich progress bar (ETA, the trial in hand) that listens to a Runner."""

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bench.plan import Trial
from bench.runner import Listener


class RichListener(Listener):
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=self.console,
        )
        self.task = self.bar.add_task("starting", total=None)
        self.failed = 0

    def __enter__(self) -> "RichListener":
        self.bar.start()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.bar.stop()

    def total(self, n: int) -> None:
        self.bar.update(self.task, total=n)

    def started(self, trial: Trial) -> None:
        tag = " (warm-up)" if trial.warmup else ""
        self.bar.update(self.task, description=trial.key.label() + tag)

    def finished(self, trial: Trial, record: dict[str, Any], reused: bool) -> None:
        self.bar.advance(self.task)
        if not record["ok"] and not reused:
            self.failed += 1
            self.bar.console.print(f"[red]failed[/red] {trial.key.label()}: {record['failure']}")
