"""The node server: one Raft node per OS process, over TCP (docs/deploy.md).

    python -m py_raft node --runtime asyncio|threads --id I --peers H:P,... --client-port P

`config` reads the command line, `logic` is everything a node does that is not
waiting (the NodeHost, the Hello rules, the counters, partitions, the admin
requests), and `aio` and `threaded` are the two ways of waiting for sockets.
"""
