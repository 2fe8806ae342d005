"""Fake drivers for the harness tests (tests/fixtures/bench/fake_driver.py)."""

import json
from pathlib import Path

import pytest

FAKE = Path(__file__).parent / "fixtures" / "bench" / "fake_driver.py"


def use_drivers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, modes: dict[str, str],
                env: dict[str, str] | None = None) -> None:
    """use_drivers points implementations at the fake driver in the given modes."""
    table = {impl: {"argv": ["{python}", str(FAKE), mode], "env": env or {}}
             for impl, mode in modes.items()}
    path = tmp_path / "drivers.json"
    path.write_text(json.dumps(table))
    monkeypatch.setenv("RAFTBENCH_DRIVERS", str(path))
