"""Watchdog: the driver's own limits, kept on a thread that never waits on the runtime.

An overloaded runtime is slow to come back to its own timers: an asyncio
loop runs every ready callback before it looks at its timers again, and a
thread waits its turn for the GIL among thousands. Past a limit the watchdog
asks the runtime to stop; if the trial has not ended GRACE_S later it has the
result printed as it stands and the process ended, so overload is a recorded
failure, never a machine brought down (docs/benchmarking.md).
"""

import threading
import time
from typing import Protocol

POLL_S = 0.1  # how often the watchdog looks
GRACE_S = 3.0  # how long a runtime has to stop once asked, before the hard stop


class Limited(Protocol):
    def over_limit(self) -> bool: ...
    def request_stop(self) -> None: ...
    def hard_stop(self) -> None: ...


class Watchdog(threading.Thread):
    def __init__(self, trial: Limited) -> None:
        super().__init__(name="watchdog", daemon=True)
        self.trial = trial
        self.done = threading.Event()

    def run(self) -> None:
        hard_at: float | None = None
        while not self.done.wait(POLL_S):
            if hard_at is None and self.trial.over_limit():
                self.trial.request_stop()
                hard_at = time.monotonic() + GRACE_S
            elif hard_at is not None and time.monotonic() > hard_at:
                self.trial.hard_stop()
