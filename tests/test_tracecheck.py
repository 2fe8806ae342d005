"""The trace checker catches each kind of violation, and passes a clean trace."""

import json

from bench.tracecheck import check_trace


def _lines(*events: dict) -> list[str]:
    return [json.dumps(e) for e in events]


def _state(node: int, state: str, term: int) -> dict:
    return {"t_ms": 1, "node": node, "event": "state", "state": state, "term": term}


def _apply(node: int, index: int, term: int, cmd: str | None) -> dict:
    return {"t_ms": 1, "node": node, "event": "apply", "index": index, "term": term, "cmd": cmd}


CLEAN = [
    _state(0, "leader", 1), _apply(0, 1, 1, None), _apply(0, 2, 1, "c0.1"),
    {"t_ms": 2, "event": "ack", "cmd": "c0.1", "index": 2},
    _apply(1, 1, 1, None), _apply(1, 2, 1, "c0.1"),
    {"t_ms": 3, "node": 1, "event": "crash"}, {"t_ms": 4, "node": 1, "event": "restart"},
    _apply(1, 1, 1, None),
]


def test_clean_trace_passes() -> None:
    assert check_trace(_lines(*CLEAN)) == []


def test_two_leaders_in_one_term() -> None:
    problems = check_trace(_lines(_state(0, "leader", 2), _state(1, "leader", 2)))
    assert len(problems) == 1 and "election safety" in problems[0]


def test_different_entries_at_one_index() -> None:
    problems = check_trace(_lines(_apply(0, 1, 1, "a"), _apply(1, 1, 1, "b")))
    assert any("state machine safety" in p for p in problems)


def test_gap_in_applied_indices() -> None:
    problems = check_trace(_lines(_apply(0, 1, 1, None), _apply(0, 3, 1, "x")))
    assert any("gap" in p for p in problems)


def test_acked_command_not_applied_at_its_index() -> None:
    problems = check_trace(_lines(_apply(0, 1, 1, None),
                                  {"t_ms": 1, "event": "ack", "cmd": "c1.1", "index": 1}))
    assert any("c1.1" in p for p in problems)


def test_malformed_line() -> None:
    assert any("malformed" in p for p in check_trace(["{not json"]))


def _image(event: str, node: int, index: int, digest: str) -> dict:
    return {"t_ms": 5, "node": node, "event": event, "index": index, "digest": digest}


# Node 0 applies 1..3 and compacts; node 1, restarted, installs that snapshot and
# goes on at 4; node 2 installs it from the leader while its applies lag at 1.
SNAPPED = [
    _state(0, "leader", 1), _apply(0, 1, 1, None), _apply(0, 2, 1, "c0.1"),
    _apply(0, 3, 1, "c1.1"), _image("snapshot", 0, 3, "aaaa"),
    {"t_ms": 6, "node": 1, "event": "crash"}, {"t_ms": 7, "node": 1, "event": "restart"},
    _image("install", 1, 3, "aaaa"), _apply(1, 4, 1, "c0.2"), _apply(0, 4, 1, "c0.2"),
    _apply(2, 1, 1, None), _image("install", 2, 3, "aaaa"), _apply(2, 4, 1, "c0.2"),
]


def test_snapshots_and_installs_pass() -> None:
    assert check_trace(_lines(*SNAPPED)) == []


def test_images_at_one_index_differ() -> None:
    trace = [*SNAPPED[:7], _image("install", 1, 3, "bbbb")]
    problems = check_trace(_lines(*trace))
    assert len(problems) == 1 and "state machine safety" in problems[0], problems


def test_apply_after_install_must_follow_it() -> None:
    trace = [*SNAPPED[:8], _apply(1, 5, 1, "c0.3")]
    assert any("gap" in p for p in check_trace(_lines(*trace)))


def test_snapshot_must_be_at_the_applied_index() -> None:
    trace = [_apply(0, 1, 1, None), _image("snapshot", 0, 2, "aaaa")]
    assert any("snapshot at index 2" in p for p in check_trace(_lines(*trace)))


def test_install_never_moves_back() -> None:
    trace = [_apply(0, 1, 1, None), _apply(0, 2, 1, "x"), _image("install", 0, 2, "aaaa")]
    assert any("not forward" in p for p in check_trace(_lines(*trace)))
