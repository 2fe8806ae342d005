"""bench: the raftbench harness.

The pipeline, one module per stage (docs/protocol.md is the driver contract):

* `impls`, `presets`, `plan`: what to run (implementations, scenarios, trials);
* `measure`: one trial, one fresh driver process, measured from outside;
* `store`: run directories, `results.jsonl` (raw values, appended at once), `env.json`;
* `runner`: runs a plan trial by trial, interleaving implementations, resuming;
* `analyze`, `stats`: tidy tables and statistics computed on demand from raw values;
* `charts`, `codemetrics`, `report`, `compare`, `checks`: outputs;
* `cli`: thin typer commands over the above.
"""

__version__ = "0.1.0"

# FORMAT_VERSION is written into every results.jsonl line and run.json; a reader
# refuses lines of another version instead of misreading them.
FORMAT_VERSION = 1
