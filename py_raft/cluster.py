"""Cluster: what every runtime keeps of one trial's cluster, the simulator included.

The nodes' storages (which outlive a crash), their incarnations (which seed
each restarted core afresh), the network model, the recorder, and the
trial's verdict so far. Faults come through `apply_fault`, so that their
meaning is the one in py_raft/faults.py everywhere. A runtime adds how its
nodes run, wait and receive.

Storage: with `storage: "memory"` a node's MemoryStorage is one object that
outlives its crashes; with `"file"` each (re)start opens a new FileStorage
over the node's directory, so that a restarted node reads back what reached
the disk, and nothing else. `close` removes the trial's directory.
"""

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from py_raft.core import MemoryStorage, SnapshotStorage
from py_raft.faults import WAIT, Crash, Heal, Partition, Restart, resolve
from py_raft.filestore import FileStores
from py_raft.recorder import Recorder
from py_raft.result import build_result
from py_raft.scenario import Fault, Scenario, ScenarioError


class Cluster:
    def __init__(self, sc: Scenario, recorder: Recorder) -> None:
        self.sc = sc
        self.recorder = recorder
        self.network = sc.network_model()
        self.control_rng = sc.control_rng()
        self.files: FileStores | None = None
        self.storages: list[MemoryStorage] = []
        if sc.storage == "file":
            try:
                self.files = FileStores(sc.storage_dir)
            except OSError as e:
                raise ScenarioError(f"storage_dir: cannot make a directory in "
                                    f"{sc.storage_dir or 'the temporary directory'}: "
                                    f"{e.strerror}") from None
        else:
            self.storages = [MemoryStorage() for _ in range(sc.nodes)]
        self.incarnations = [0] * sc.nodes
        self.payload = "x" * sc.payload_bytes
        self.last_crashed = -1  # what "leader" means in a restart fault
        self.error: str | None = None
        self.failovers_done = 0
        self.window = [0, 0]  # the clients' start and stop, for the throughput
        self.net_lock: AbstractContextManager[Any] = nullcontext()  # guards the network model

    def open_storage(self, node: int) -> SnapshotStorage:
        """open_storage is the storage a node (re)starts on."""
        if self.files is None:
            return self.storages[node]
        return self.files.open(node)

    def close(self) -> None:
        """close removes the trial's storage directory, if it has one."""
        if self.files is not None:
            self.files.remove()

    def fail(self, reason: str) -> None:
        """fail ends the trial's verdict with reason; the first reason given stands."""
        if self.error is None:
            self.error = reason

    # Each runtime provides these.
    def time_us(self) -> int: raise NotImplementedError  # the trial's time now
    def up(self, node: int) -> bool: raise NotImplementedError
    def crash(self, node: int) -> None: raise NotImplementedError
    def restart(self, node: int) -> None: raise NotImplementedError

    def partition(self, groups: list[list[int]]) -> None:
        with self.net_lock:
            self.network.partition(groups)
        self.recorder.partition(self.time_us(), groups)

    def heal(self) -> None:
        with self.net_lock:
            self.network.heal()
        self.recorder.heal(self.time_us())

    def apply_fault(self, f: Fault) -> bool:
        """apply_fault carries out f now; False: it must wait for the next leader."""
        action = resolve(f, self.recorder.leader, self.last_crashed, self.up)
        if action is WAIT:
            return False
        if isinstance(action, Crash):
            self.crash(action.node)
        elif isinstance(action, Restart):
            self.restart(action.node)
        elif isinstance(action, Partition):
            self.partition(action.groups)
        elif isinstance(action, Heal):
            self.heal()
        return True

    def build(self, impl: str, elapsed_us: int, runtime: dict[str, Any],
              extra_versions: dict[str, str] | None = None) -> dict[str, Any]:
        """build makes the trial's result (docs/protocol.md, "Result")."""
        if self.window[1] < self.window[0]:  # the clients outlived the trial's limit
            self.window[1] = elapsed_us
        if self.files is not None:
            runtime = {**runtime, "fsync_us": self.files.summary()}
        return build_result(impl, self.sc, self.recorder, self.error, self.failovers_done,
                            self.window[1] - self.window[0], elapsed_us,
                            (self.network.sent, self.network.dropped), runtime, extra_versions)
