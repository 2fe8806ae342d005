"""Session: turn the options of `raftbench run` into a RunConfig and a run directory.

Everything is checked here, before the run directory exists, so that bad input
writes nothing.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench import args, store
from bench.impls import unavailable
from bench.presets import RunConfig, preset_config, with_overrides


@dataclass
class Session:
    cfg: RunConfig
    path: Path
    resumed: bool
    warnings: list[str] = field(default_factory=list)


def new(preset: str, impl: list[str] | None, scenario: list[str] | None,
        sizes: list[str] | None, trials: int | None, out: Path | None,
        results_dir: Path, trial_timeout: float | None,
        memory_cap: float | None = None) -> Session:
    names, missing = args.impls(impl)
    warnings = [f"warning: {name} skipped: {why}" for name, why in missing.items()]
    if not names:
        raise args.ArgError("--impl: no implementation can run here")
    cfg = preset_config(preset, names)
    scen = args.scenarios(scenario, cfg.scenarios)
    size_list = args.sizes(sizes, 3 if "failover" in scen else 1)
    if trials is not None and trials < 1:
        raise args.ArgError(f"--trials: must be at least 1, got {trials}")
    args.positive("--trial-timeout", trial_timeout)
    args.memory_cap(memory_cap)
    cfg = with_overrides(cfg, scenarios=tuple(scen), trials=trials,
                         sizes=tuple(size_list) if size_list else None,
                         trial_timeout_s=trial_timeout, scale_timeout_s=trial_timeout,
                         memory_cap_mb=memory_cap)
    path = out or store.new_run_dir(results_dir, preset)
    if path.exists() and any(path.iterdir()):
        raise args.ArgError(f"--out: {path} exists and is not empty (use --resume to go on)")
    return Session(cfg, path, resumed=False, warnings=warnings)


def resume(path: Path, given: Mapping[str, object]) -> Session:
    """resume: go on with a stored run, with exactly its stored settings."""
    for option, value in given.items():
        if value:
            raise args.ArgError(f"{option}: cannot be combined with --resume "
                                "(a resumed run keeps its own settings)")
    store.check_run_dir(path)
    cfg = store.load_config(path)
    missing = unavailable(list(cfg.impls))
    if missing:
        name, why = next(iter(missing.items()))
        raise args.ArgError(f"--resume: {name} is unavailable: {why}")
    return Session(cfg, path, resumed=True)
