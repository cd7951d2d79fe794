# Baryon: the two commands are `make demo` and `make test`.
# Both create .venv when missing and install only when pyproject.toml changed
# (stamp files keyed on its hash).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HASH   := $(shell (cat pyproject.toml requirements-federated.txt; $(PYTHON) --version 2>&1) | sha256sum | cut -c1-16)
STAMP_RUN := $(VENV)/.stamp-run-$(HASH)
STAMP_DEV := $(VENV)/.stamp-dev-$(HASH)
PIP_FLAGS ?= --disable-pip-version-check --quiet
# Tests run in one worker per core (pytest-xdist), a module per worker at a time (its
# module fixtures, such as the demo's trained workspace, are built once).
PYTEST_ARGS ?= -n auto --dist loadfile --durations=15

.PHONY: demo dev test check lint format typecheck bench bench-quick clean help

help:
	@echo "make demo         run the whole demo on the bundled real data"
	@echo "make test         lint, type-check and run the test suite"
	@echo "make dev          create .venv with the dev extra (what make test installs)"
	@echo "make check        lint and type-check only"
	@echo "make bench-quick  reduced benchmarks (< 3 min)"
	@echo "make bench        full benchmarks"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP_RUN): | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[nlp]'
	@rm -f $(VENV)/.stamp-run-*
	@touch $@

$(STAMP_DEV): | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[dev,nlp]'
	$(BIN)/python -m pip install $(PIP_FLAGS) --no-deps -r requirements-federated.txt
	@rm -f $(VENV)/.stamp-dev-* $(VENV)/.stamp-run-*
	@touch $@ $(STAMP_RUN)

dev: $(STAMP_DEV)

demo: $(STAMP_RUN)
	$(BIN)/baryon demo $(DEMO_ARGS)

lint: $(STAMP_DEV)
	$(BIN)/ruff check baryon tests benchmarks
	$(BIN)/ruff format --check baryon tests benchmarks

format: $(STAMP_DEV)
	$(BIN)/ruff format baryon tests benchmarks
	$(BIN)/ruff check --fix baryon tests benchmarks

typecheck: $(STAMP_DEV)
	$(BIN)/mypy

check: lint typecheck

test: check
	$(BIN)/pytest $(PYTEST_ARGS)

bench-quick: $(STAMP_DEV)
	$(BIN)/python -m benchmarks --quick

bench: $(STAMP_DEV)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
