"""Client: one closed-loop client of docs/protocol.md ("Clients"), written once.

`client_script` is a generator. It yields what the client does next, a
`Pause` or a `Request`, and is sent back the outcome of each request. The
threads runtime blocks on each step, asyncio awaits it, and the simulator
turns it into events; all three run this very control flow.
"""

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

# What a client hears back about one command. REDIRECT carries the leader
# hint (-1: none); a node that is down answers as a redirect without a hint.
OK, LOST, REDIRECT, TIMEOUT = "ok", "lost", "redirect", "timeout"
Outcome = tuple[str, int]
DOWN: Outcome = (REDIRECT, -1)  # the node asked is down
NO_ANSWER: Outcome = (TIMEOUT, -1)  # no answer within client_timeout_ms
Reply = Callable[[str, int], None]  # (outcome, index or leader hint)


@dataclass(frozen=True, slots=True)
class Pause:
    us: int

    @property
    def s(self) -> float:
        return self.us / 1e6


@dataclass(frozen=True, slots=True)
class Request:
    node: int
    cmd: str


S = TypeVar("S")
V = TypeVar("V")
ClientScript = Generator[Pause | Request, Outcome | None, None]


def advance(script: Generator[S, V, None], value: V | None) -> S | None:
    """advance runs a script to its next step, sent the last step's value; None: it ended."""
    try:
        return script.send(value)  # type: ignore[arg-type]  # a script starts on None
    except StopIteration:
        return None


class _Future(Protocol):
    def done(self) -> bool: ...
    def set_result(self, result: Any) -> None: ...


class Proposal:
    """Proposal is one command on its way to a node, with the future its client waits on."""

    __slots__ = ("cmd", "payload", "future")

    def __init__(self, cmd: str, payload: str, future: _Future) -> None:
        self.cmd, self.payload, self.future = cmd, payload, future

    def reply(self, outcome: str, value: int) -> None:
        if not self.future.done():
            self.future.set_result((outcome, value))


def client_script(client_id: int, leader: int, nodes: int, hop_us: int, retry_us: int,
                  running: Callable[[], bool], up: Callable[[int], bool]) -> ClientScript:
    """client_script proposes one command at a time, starting with the node `leader`.

    A client sits one network hop (hop_us) from every node: its first
    request arrives a hop after the clients start, and its next one two hops
    after an ack (the ack back, the request out).
    """
    guess, seq = leader, 0
    yield Pause(hop_us)
    while running():
        seq += 1
        outcome = yield Request(guess, f"c{client_id}.{seq}")
        assert outcome is not None
        kind, value = outcome
        if kind == OK:
            yield Pause(2 * hop_us)
            continue
        if kind == TIMEOUT:  # try the next node at once
            guess = (guess + 1) % nodes
            yield Pause(0)
            continue
        if kind == LOST:  # the node crashed, or a new leader overwrote the entry
            guess = guess if up(guess) else (guess + 1) % nodes
        else:
            guess = value if value >= 0 else (guess + 1) % nodes
        yield Pause(retry_us)
