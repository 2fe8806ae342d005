"""`python -m bench` is the `raftbench` console script."""

from bench.cli import app

app(prog_name="raftbench")
