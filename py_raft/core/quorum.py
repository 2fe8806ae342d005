"""Quorum arithmetic, kept apart so it can be checked against a naive version."""

from collections.abc import Sequence


def majority(n: int) -> int:
    """majority is the smallest number of servers that is more than half of n."""
    return n // 2 + 1


def committed_index(match_indexes: Sequence[int]) -> int:
    """committed_index is the largest index stored on a majority of the servers.

    `match_indexes` holds one value per server, the leader's own last index included.
    """
    ordered = sorted(match_indexes, reverse=True)
    return ordered[majority(len(ordered)) - 1]
