"""Clock: the trial's monotonic time in integer microseconds since the trial started."""

import time


class Clock:
    __slots__ = ("_start",)

    def __init__(self) -> None:
        self._start = time.monotonic_ns()

    def now(self) -> int:
        return (time.monotonic_ns() - self._start) // 1000
