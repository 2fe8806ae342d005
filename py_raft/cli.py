"""cli: what every command line here does alike (docs/protocol.md, "Invocation").

Bad input ends in one line, `error: FIELD: what is wrong`, and exit status 2,
before anything is written. The drivers, the node server, the TCP launcher,
the load generator and the PySyncObj anchor all read their flags and their
scenario through this module.
"""

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from py_raft.scenario import Scenario, ScenarioError, parse_scenario


def fail(message: str) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    raise SystemExit(2)


class Parser(argparse.ArgumentParser):
    """Parser is argparse with bad flags reported as one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        fail(message)


def read_scenario(path: str) -> Scenario:
    """read_scenario reads a scenario from a file or stdin ("-"), or fails on bad input."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as e:
        fail(f"--scenario: cannot read {path}: {e.strerror}")
    try:
        sc = parse_scenario(text)
    except ScenarioError as e:
        fail(str(e))
    where = sc.storage_dir
    if where is not None and not (os.path.isdir(where) and os.access(where, os.W_OK)):
        fail(f"storage_dir: {where} is not a directory this driver can write in")
    return sc
