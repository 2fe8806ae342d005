# raftbench: `make bench` runs the quick benchmark and writes its report;
# `make test` runs every check CI runs. Both set themselves up first.

PYTHON ?= python3
GO ?= go
VENV := .venv
PY := $(VENV)/bin/python
GO_SRC := $(shell find go_raft -name '*.go' -o -name go.mod 2>/dev/null)
GORAFT := go_raft/bin/goraft
HASHICORP := anchors/hashicorp/bin/anchor-hashicorp
HASHICORP_SRC := $(shell find anchors/hashicorp -name '*.go' -o -name 'go.*' 2>/dev/null)
SEEDS ?= 100000

.PHONY: setup test bench lint typecheck pytest gotest fuzz acceptance clean \
	bench-check bench-baseline bench-micro

# Quiet: only errors, then one line saying what is installed.
setup: $(VENV)/.installed $(GORAFT) $(HASHICORP)
	@echo "setup: $(VENV) (raftbench, editable, with its dev tools) and $(GORAFT) are ready"

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

$(GORAFT): $(GO_SRC)
	@cd go_raft && $(GO) build -o bin/goraft ./cmd/goraft

# The hashicorp/raft anchor (docs/anchors.md): a module of its own that uses go_raft's
# scenario parser and recorder, so it is rebuilt when either changes.
$(HASHICORP): $(HASHICORP_SRC) $(GO_SRC)
	@cd anchors/hashicorp && $(GO) build -o bin/anchor-hashicorp .

bench: setup
	$(VENV)/bin/raftbench run --preset quick

test: setup lint typecheck pytest gotest

lint: setup
	$(VENV)/bin/ruff check py_raft bench tests
	@out=$$(gofmt -l go_raft); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	cd go_raft && $(GO) vet ./...

typecheck: setup
	$(VENV)/bin/mypy py_raft bench

pytest: setup
	$(PY) -m pytest

gotest: setup
	cd go_raft && $(GO) test -race -count=1 ./...

# The long checks, outside CI: 100,000 fuzz seeds per simulator (and as many
# again with small snapshots), and the
# acceptance runs of every real-time driver.
fuzz: setup
	$(PY) -m py_raft.sim.fuzz --seeds $(SEEDS) --jobs $$(nproc)
	$(GORAFT) fuzz --seeds $(SEEDS) --jobs $$(nproc)
	$(PY) -m py_raft.sim.fuzz --seeds $(SEEDS) --jobs $$(nproc) --snapshots
	$(GORAFT) fuzz --seeds $(SEEDS) --jobs $$(nproc) --snapshots

acceptance: setup
	$(PY) -m pytest -m slow tests/test_acceptance.py

# Regression benchmarks (docs/benchmarking.md): the gate CI runs, a refresh of
# its baseline, and the pytest-benchmark / go test -bench suites with timing.
bench-check: setup
	$(VENV)/bin/raftbench gate

bench-baseline: setup
	$(VENV)/bin/raftbench gate --record

bench-micro: setup
	$(PY) -m pytest tests/benchmarks --benchmark-enable --benchmark-only \
		--benchmark-json=build/bench-micro.json
	cd go_raft && $(GO) test -run '^$$' -bench . -benchmem ./raft/

clean:
	rm -rf $(VENV) go_raft/bin anchors/hashicorp/bin .pytest_cache .mypy_cache .ruff_cache
