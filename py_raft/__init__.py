"""py_raft: one sans-I/O Raft core and the runtimes that drive it.

`py_raft.core` is the algorithm and nothing else: no threads, clocks or sockets.
The runtimes beside it (`sim`, `threads_rt`, `asyncio_rt`) feed it messages, timer
firings and proposals, and carry out what it asks for in each `Ready`.
"""

__version__ = "0.1.0"
