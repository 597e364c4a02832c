# The two quickstart commands are `make demo` and `make test`; both do all set-up first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Parallel workers for the test suite (2 cores here; root tests use unique names so they can share the host).
WORKERS ?= 2

.PHONY: setup demo test test-unit lint bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh

test: setup
	$(PY) -m ruff check compose runtime tests benchmarks scripts
	$(PY) -m pytest -n $(WORKERS) -p no:cacheprovider

test-unit: setup
	$(PY) -m pytest tests/unit -q

lint: setup
	$(PY) -m ruff check compose runtime tests benchmarks scripts
	$(PY) -m mypy

bench: setup
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
