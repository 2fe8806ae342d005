"""main: `python -m py_raft node ...` (docs/deploy.md, "The node process")."""

from py_raft.node.config import parse


def main(argv: list[str]) -> int:
    cfg = parse(argv)
    if cfg.runtime == "asyncio":
        from py_raft.node import aio

        aio.run(cfg)
    else:
        from py_raft.node import threaded

        threaded.run(cfg)
    return 0
