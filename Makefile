# Every target creates the virtual environment on first use, so a fresh clone needs nothing but Python >= 3.11.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install test test-unit lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## The whole suite: unit tests, and integration tests against real PostgreSQL and Valkey the fixtures start.
test: $(STAMP)
	$(PY) -m pytest -q

## Fast unit tests of the core only (no servers).
test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

lint: $(STAMP)
	$(PY) -m ruff check layers infra tests bench

## Prints `name: value` figures for the issue targets.
bench: $(STAMP)
	$(PY) bench/plan.py

clean:
	rm -rf $(VENV) .local .pytest_cache .hypothesis
