"""Network: the one network model every runtime shares.

A message from src to dst is either dropped or delivered after
latency + uniform jitter. Reordering follows from the jitter. A partition
splits the nodes into groups, and a message between groups is dropped when
it is sent. A crashed destination drops what arrives for it (the runtime's job).

The draws happen in a fixed order (drop first, then jitter, each only when its
parameter is non-zero) so that the Go simulator makes exactly the same ones.
"""

from collections.abc import Iterable, Sequence

from py_raft.core.rng import SplitMix64


class Network:
    __slots__ = ("latency_us", "jitter_us", "drop_rate", "_rng", "_group", "sent", "dropped")

    def __init__(self, latency_us: int, jitter_us: int, drop_rate: float, rng: SplitMix64):
        self.latency_us = latency_us
        self.jitter_us = jitter_us
        self.drop_rate = drop_rate
        self._rng = rng
        self._group: dict[int, int] | None = None  # node -> group; None: no partition
        self.sent = 0
        self.dropped = 0

    def partition(self, groups: Sequence[Iterable[int]]) -> None:
        """partition puts each listed group apart; unlisted nodes form one more group."""
        self._group = {}
        for g, members in enumerate(groups):
            for node in members:
                self._group[node] = g

    def heal(self) -> None:
        self._group = None

    def delay(self, src: int, dst: int) -> int | None:
        """delay is the one-way delay of the next message in microseconds, or None: dropped."""
        self.sent += 1
        if self._group is not None and self._group.get(src, -1) != self._group.get(dst, -1):
            self.dropped += 1
            return None
        if self.drop_rate > 0.0 and self._rng.random() < self.drop_rate:
            self.dropped += 1
            return None
        if self.jitter_us > 0:
            return self.latency_us + self._rng.uniform_int(0, self.jitter_us)
        return self.latency_us
