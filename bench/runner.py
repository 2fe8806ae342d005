"""Runner: make every trial of a plan, one fresh driver process each, appending results.

Trials already in results.jsonl are not made again, which is all `--resume` needs.
Warm-ups are made again on a resume: the caches they warm are cold again.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench import store
from bench.impls import Driver, drivers
from bench.measure import run_driver
from bench.plan import (
    Trial,
    TrialKey,
    fixed_trials,
    make_trial,
    scale_sizes,
    variants,
    warmups,
)
from bench.presets import RunConfig


class Listener:
    """Listener hears about the progress of a run; the CLI draws a progress bar."""

    def total(self, n: int) -> None:
        """total: the number of trials the run now expects (it shrinks as scale stops)."""

    def started(self, trial: Trial) -> None:
        """started: a trial is about to run."""

    def finished(self, trial: Trial, record: dict[str, Any], reused: bool) -> None:
        """finished: a trial ended (reused: found in results.jsonl, not run again)."""


class Runner:
    def __init__(self, path: Path, cfg: RunConfig, listener: Listener | None = None) -> None:
        self.path = path
        self.cfg = cfg
        self.listener = listener or Listener()
        self.table: dict[str, Driver] = drivers()
        store.repair(path)
        self.done = {store.key_of(r): r for r in store.load_records(path) if not r["warmup"]}
        self.expected = 0  # trials planned, scale taken at its largest
        self.skipped = 0  # scale trials dropped once an implementation became unstable

    def _trial(self, trial: Trial) -> dict[str, Any]:
        if not trial.warmup and trial.key in self.done:
            rec = self.done[trial.key]
            self.listener.finished(trial, rec, reused=True)
            return rec
        self.listener.started(trial)
        timeout = self.cfg.trial_timeout_s
        outcome = run_driver(self.table[trial.key.impl], trial.scenario, timeout)
        rec = store.make_record(trial, outcome, timeout)
        store.append(self.path, rec)
        self.listener.finished(trial, rec, reused=False)
        return rec

    def _all(self, trials: Iterable[Trial]) -> None:
        for t in trials:
            self._trial(t)

    def _scale(self) -> None:
        """_scale doubles N while an implementation holds one stable leader in every trial.

        The verdict (bench.analyze.largest_stable) is recomputed from the stored records.
        """
        cfg, sizes = self.cfg, scale_sizes(self.cfg)
        variant = variants(cfg, "scale")[0]
        active = list(cfg.impls)
        for step, n in enumerate(sizes):
            stable = dict.fromkeys(active, True)
            for t in range(cfg.trials):
                for impl in active:
                    rec = self._trial(make_trial(cfg, TrialKey(impl, "scale", n, variant, t)))
                    stable[impl] = stable[impl] and store.is_stable(rec)
            dropped = [i for i in active if not stable[i]]
            self.skipped += len(dropped) * (len(sizes) - step - 1) * cfg.trials
            self.listener.total(self.expected - self.skipped)
            active = [i for i in active if stable[i]]

    def run(self) -> None:
        cfg = self.cfg
        wu = warmups(cfg)
        fixed = list(fixed_trials(cfg))
        n_scale = len(scale_sizes(cfg)) * cfg.trials * len(cfg.impls)
        self.expected = len(wu) + len(fixed) + (n_scale if "scale" in cfg.scenarios else 0)
        self.listener.total(self.expected)
        self._all(wu)
        self._all(fixed)
        if "scale" in cfg.scenarios:
            self._scale()
