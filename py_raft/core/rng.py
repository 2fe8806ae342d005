"""SplitMix64: the one pseudo-random generator of the project.

Python and Go both implement exactly this generator (Steele, Lea and Flood,
"Fast splittable pseudorandom number generators", 2014), so that the same seed
gives the same election timeouts, network delays and fault times in both
languages, and the two simulators produce byte-identical traces.
"""

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


class SplitMix64:
    """SplitMix64 is a seeded 64-bit generator. Every draw advances one step."""

    __slots__ = ("_state",)

    def __init__(self, seed: int) -> None:
        self._state = seed & _MASK

    def next_u64(self) -> int:
        self._state = (self._state + _GOLDEN) & _MASK
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def uniform_int(self, lo: int, hi: int) -> int:
        """uniform_int returns an integer in [lo, hi], both ends included.

        The modulo bias is below 2**-40 for our ranges, and a plain modulo is
        trivial to reproduce exactly in Go.
        """
        assert lo <= hi, (lo, hi)
        return lo + self.next_u64() % (hi - lo + 1)

    def random(self) -> float:
        """random returns a float in [0, 1) built from the top 53 bits."""
        return (self.next_u64() >> 11) * (1.0 / (1 << 53))


def derive_seed(seed: int, stream: int) -> int:
    """derive_seed gives an independent seed for one stream (a node, the network...)."""
    return SplitMix64((seed ^ ((stream * _GOLDEN) & _MASK)) & _MASK).next_u64()
