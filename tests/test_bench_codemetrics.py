"""bench.codemetrics: Go scanning by hand-checked examples; Python through radon."""

from pathlib import Path

from bench.codemetrics import code_metrics, go_source

GO = '''package raft

// Step handles if and for in a comment: not counted.
func Step(x int) int {
	s := "if for case && ||"
	if x > 0 && x < 3 || x == 9 {
		return 1
	}
	for i := 0; i < x; i++ {
	}
	switch x {
	case 1:
	case 2:
	default:
	}
	return 0
}

/* a block comment
   with if and for */
func Tick() {}
'''


def test_go_complexity_counts_branches_outside_comments_and_strings() -> None:
    sloc, cc = go_source(GO)
    assert cc == [1 + 1 + 2 + 1 + 2, 1]  # if, && and ||, for, two cases
    assert sloc == 16


def test_code_metrics_finds_the_parts_that_exist(tmp_path: Path) -> None:
    (tmp_path / "py_raft" / "core").mkdir(parents=True)
    (tmp_path / "py_raft" / "core" / "raft.py").write_text(
        "def f(x):\n    if x:\n        return 1\n    return 2\n")
    (tmp_path / "py_raft" / "threads_rt.py").write_text("def g():\n    pass\n")
    for d in ("raft", "runtime"):
        (tmp_path / "go_raft" / d).mkdir(parents=True)
        (tmp_path / "go_raft" / d / "a.go").write_text(GO)
        (tmp_path / "go_raft" / d / "a_test.go").write_text(GO)
    (tmp_path / "go_raft" / "bin").mkdir()
    rows = {(r.language, r.part): r for r in code_metrics(tmp_path)}
    assert set(rows) == {("Python", "core"), ("Python", "threads runtime"), ("Go", "core"),
                         ("Go", "runtime")}
    assert rows[("Python", "core")].cc_total == 2
    assert rows[("Go", "core")].files == 1 and rows[("Go", "core")].functions == 2


def test_go_file_without_functions() -> None:
    assert go_source("package raft\n\ntype Role int\n") == (2, [])  # blank lines skipped
