"""Runner: make every trial of a plan, one fresh driver process each, appending results.

Trials already in results.jsonl are not made again, which is all `--resume` needs.
Warm-ups are made again on a resume: the caches they warm are cold again.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench import store
from bench.args import MAX_NODES
from bench.impls import SIMULATORS, Driver, drivers
from bench.measure import run_driver
from bench.plan import (
    Trial,
    TrialKey,
    fixed_trials,
    make_trial,
    scale_sizes,
    scenario_impls,
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
        cfg = self.cfg
        timeout = cfg.scale_timeout_s if trial.key.scenario == "scale" else cfg.trial_timeout_s
        outcome = run_driver(self.table[trial.key.impl], trial.scenario, timeout,
                             memory_cap_kb=int(cfg.memory_cap_mb * 1024))
        rec = store.make_record(trial, outcome, timeout)
        store.append(self.path, rec)
        self.listener.finished(trial, rec, reused=False)
        return rec

    def _all(self, trials: Iterable[Trial]) -> None:
        for t in trials:
            self._trial(t)

    def _held(self, impl: str, n: int) -> bool:
        """_held runs the scale trials of impl at n; True when every one held a leader."""
        cfg, variant = self.cfg, variants(self.cfg, "scale")[0]
        held = True
        for t in range(cfg.trials_scale):
            rec = self._trial(make_trial(cfg, TrialKey(impl, "scale", n, variant, t)))
            held = held and store.is_stable(rec)
        return held

    def _scale(self) -> None:
        """_scale finds, per implementation, the largest N that holds one leader.

        N doubles (all implementations still holding interleaved at each size),
        then scale_bisect steps bisect between the last N that held and the first
        that failed. The simulators come last, at every N a real runtime tried and
        at 4x each one's largest stable N (bench.analyze.BOUND_FACTOR): that is
        what shows the limit to be the runtime's. Verdicts are recomputed from the
        stored records by bench.analyze.
        """
        cfg, sizes = self.cfg, scale_sizes(self.cfg)
        impls = scenario_impls(cfg, "scale")
        real = [i for i in impls if i not in SIMULATORS]
        sims = [i for i in impls if i in SIMULATORS]
        if not real:  # a run of simulators alone searches them like any other
            real, sims = sims, []
        best: dict[str, int] = dict.fromkeys(real, 0)
        failed: dict[str, int] = {}
        tried: set[int] = set()
        active = list(real)
        for step, n in enumerate(sizes):
            for impl in active:
                tried.add(n)
                if self._held(impl, n):
                    best[impl] = n
                else:
                    failed[impl] = n
            dropped = [i for i in active if i in failed]
            self.skipped += len(dropped) * (len(sizes) - step - 1) * cfg.trials_scale
            self.listener.total(self.expected - self.skipped)
            active = [i for i in active if i not in failed]
        for impl, bad in failed.items():
            good = best[impl]
            for _ in range(cfg.scale_bisect):
                mid = (good + bad) // 2
                if mid <= good or mid >= bad:
                    break
                self._add_expected(1)
                tried.add(mid)
                good, bad = (mid, bad) if self._held(impl, mid) else (good, mid)
            best[impl] = good
        targets = sorted(tried | {min(4 * b, MAX_NODES) for b in best.values() if b})
        self._add_expected(len(targets) * len(sims) - len(sizes) * len(sims))
        for n in targets:
            for impl in sims:
                self._held(impl, n)

    def _add_expected(self, trials: int) -> None:
        self.expected += trials * self.cfg.trials_scale
        self.listener.total(self.expected - self.skipped)

    def run(self) -> None:
        cfg = self.cfg
        wu = warmups(cfg)
        fixed = list(fixed_trials(cfg))
        n_scale = len(scale_sizes(cfg)) * cfg.trials_scale * len(scenario_impls(cfg, "scale"))
        self.expected = len(wu) + len(fixed) + (n_scale if "scale" in cfg.scenarios else 0)
        self.listener.total(self.expected)
        self._all(wu)
        self._all(fixed)
        if "scale" in cfg.scenarios:
            self._scale()
