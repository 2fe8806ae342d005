"""The Raft paper's published failover figures, as data to draw beside ours.

Source: D. Ongaro and J. Ousterhout, "In Search of an Understandable Consensus
Algorithm (Extended Version)", 2014, section 9.3 and Figure 16: five servers,
the leader crashed uniformly at random within its heartbeat interval, which
was half the minimum election timeout, over 1,000 trials per line. The text
quotes these four figures; the rest of Figure 16 is a plot, not data.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperPoint:
    timeout_ms: tuple[int, int]  # the line's election timeout range
    statistic: str  # "median", "worst", "average" or "max"
    ms: float
    row: str  # Figure 16's panel: "top" (150-150 to 150-300) or "bottom"

    @property
    def percent(self) -> float | None:
        """percent: where the figure sits on a CDF; None for an average."""
        return {"median": 50.0, "worst": 100.0, "max": 100.0}.get(self.statistic)

    @property
    def label(self) -> str:
        lo, hi = self.timeout_ms
        return f"paper {lo}-{hi}: {self.statistic} {self.ms:g} ms"


PAPER_POINTS = (
    PaperPoint((150, 155), "median", 287.0, "top"),
    PaperPoint((150, 200), "worst", 513.0, "top"),
    PaperPoint((12, 24), "average", 35.0, "bottom"),
    PaperPoint((12, 24), "max", 152.0, "bottom"),
)
