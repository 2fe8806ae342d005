"""raftbench cluster: N node processes over TCP, one scenario, one result (docs/deploy.md).

`procs` starts, watches and measures the node processes; `launcher` runs the
scenario against them (the real-time script of py_raft/realtime.py, with
clients over TCP); `merge` joins the nodes' traces by time; `main` speaks the
driver contract of docs/protocol.md.
"""
