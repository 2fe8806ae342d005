"""Probe for a baseline tree older than bench/probe.py, run with that tree's own code.

Such a tree's bench/gate.py held its probe as a program in a string
(PY_HANDLE) and its end-to-end workload in the scenario format of its day
(WORKLOAD). The gate runs this file as a script, `python -P
bench/probe_legacy.py ACTION`, with only the old tree on PYTHONPATH, so
`bench.gate` below is the old tree's module and the program runs against the
old tree's py_raft, as it did when that baseline was recorded. Delete this
file once results/baseline/baseline.json names a commit that has bench/probe.py
(`raftbench gate --record`).
"""

import importlib
import json
import sys


def main(argv: list[str]) -> int:
    old = importlib.import_module("bench.gate")  # the old tree's, by PYTHONPATH
    if argv == ["py-handle"]:
        exec(old.PY_HANDLE, {})  # prints ns per message
        return 0
    if argv == ["workload"]:
        print(json.dumps(old.WORKLOAD))
        return 0
    print("error: usage: python -P bench/probe_legacy.py py-handle | workload", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
