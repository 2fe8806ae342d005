"""The deterministic simulator (sim.py) and its fuzz generator (fuzz.py)."""

from py_raft.sim.sim import Sim, run

__all__ = ["Sim", "run"]
