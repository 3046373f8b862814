# Quick start: `make run` (set up + default experiment), `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint setup clean bench

run: $(STAMP)
	$(BIN)/excolor-train

# Everything, slow tests included, one pytest worker per core (CI's 2 cores: about 10 minutes).
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist worksteal

# The loop after every change: everything but the tests marked slow (processes, whole sweeps), on every core.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist worksteal -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check excolor tests benchmarks

setup: $(STAMP)

# torch first, pinned, so no resolver ever pulls a multi-GB CUDA build; then the package (editable).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/python benchmarks/single_run.py

clean:
	rm -rf $(VENV) outputs
