"""Replay every shared vector (tests/vectors/*.json) on the Python core."""

import json
from pathlib import Path

import pytest
from vectorlib import corrupted, replay

VECTOR_DIR = Path(__file__).resolve().parent / "vectors"
VECTOR_FILES = sorted(VECTOR_DIR.glob("*.json"))


def load(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", VECTOR_FILES, ids=[p.stem for p in VECTOR_FILES])
def test_vector_replays_on_python_core(path: Path) -> None:
    vector = load(path)
    assert vector["name"] == path.stem
    diffs = replay(vector)
    assert diffs == [], f"{path.name}:\n" + "\n".join(diffs)


def test_there_are_at_least_30_vectors_each_with_a_rule() -> None:
    assert len(VECTOR_FILES) >= 30
    for path in VECTOR_FILES:
        vector = load(path)
        assert isinstance(vector.get("rule"), str) and vector["rule"].strip(), path.name
        assert vector["steps"], path.name


def test_vector_files_use_the_stable_formatting() -> None:
    for path in VECTOR_FILES:
        text = path.read_text()
        assert text == json.dumps(json.loads(text), indent=1, sort_keys=False) + "\n", path.name


def test_replayer_detects_a_corrupted_expectation() -> None:
    vector = load(VECTOR_DIR / "leader_fast_backtracking_skips_a_term.json")
    assert replay(vector) == []
    bad = corrupted(vector)
    diffs = replay(bad)
    assert len(diffs) == 1 and "current_term" in diffs[0], diffs


def test_replayer_detects_a_wrong_message_field() -> None:
    vector = load(VECTOR_DIR / "ae_reject_prev_term_mismatch_conflict_hint.json")
    step = vector["steps"][-1]
    step["expect"]["ready"]["messages"][0][1]["conflict_index"] += 1
    diffs = replay(vector)
    assert len(diffs) == 1 and "conflict_index" in diffs[0], diffs


def test_replayer_detects_a_missing_message_and_a_wrong_propose_result() -> None:
    vector = load(VECTOR_DIR / "leader_one_in_flight_flow_control.json")
    proposes = [s for s in vector["steps"] if s["input"]["type"] == "propose"]
    proposes[-1]["expect"]["propose"]["index"] = 99
    proposes[0]["expect"]["ready"]["messages"].pop()
    diffs = replay(vector)
    assert any("propose.index" in d for d in diffs), diffs
    assert any("messages" in d for d in diffs), diffs


def test_replayer_detects_a_missing_restore_and_a_wrong_install_message() -> None:
    vector = load(VECTOR_DIR / "snap_install_discards_conflicting_log.json")
    step = vector["steps"][-1]
    del step["expect"]["ready"]["restore"]
    step["expect"]["ready"]["messages"][0][1]["match_index"] += 1
    diffs = replay(vector)
    assert any("unexpected" in d and "restore" in d for d in diffs), diffs
    assert any("match_index" in d for d in diffs), diffs
