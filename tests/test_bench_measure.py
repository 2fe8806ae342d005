"""bench.measure: outside measurements of real child processes, and the hard timeout."""

import sys
import time

from bench.impls import Driver
from bench.measure import run_driver

# A child that holds ~60 MiB and 4 extra threads for a moment, then prints one line.
HOG = """
import threading, time, sys
block = bytearray(60 * 1024 * 1024)
for i in range(0, len(block), 4096): block[i] = 1
ts = [threading.Thread(target=time.sleep, args=(0.3,)) for _ in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
sum(range(200000))
sys.stderr.write("x" * 5000 + "END")
print('{"ok": true}')
"""


def test_outside_measurements_see_memory_threads_and_cpu() -> None:
    out = run_driver(Driver((sys.executable, "-c", HOG)), {"nodes": 3}, timeout_s=30)
    assert out.exit_code == 0 and not out.timed_out
    assert out.stdout.strip() == '{"ok": true}'
    assert out.rss_peak_kb > 60 * 1024
    assert out.threads_peak >= 5
    assert out.cpu_user_s + out.cpu_sys_s > 0
    assert out.wall_s >= 0.3 and out.polls > 0
    assert out.stderr_tail.endswith("END") and len(out.stderr_tail) == 2000


def test_a_hung_child_is_killed_at_the_timeout() -> None:
    hang = Driver((sys.executable, "-c", "import time; time.sleep(3600)"))
    start = time.monotonic()
    out = run_driver(hang, {}, timeout_s=0.3)
    assert out.timed_out and out.exit_code is None
    assert time.monotonic() - start < 30


def test_a_missing_program_is_a_failed_trial_not_a_crash(tmp_path) -> None:
    out = run_driver(Driver((str(tmp_path / "nope"),)), {}, timeout_s=5)
    assert out.exit_code == 127 and "cannot start" in out.stderr_tail
