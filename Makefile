# Two entry points for a fresh clone: `make synth` and `make test`. Both set up what they need
# (virtualenv, Python and npm packages, system packages for the tests) and are safe to re-run.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMPS := $(VENV)/.stamps

# jsii's Node 20 end-of-life banner is noise on every run; the CLI needs no telemetry here.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: synth test lint setup system-packages benchmark clean

## Set everything up and synthesize every stack of the bundled app into cdk.out/.
synth: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" npx --no-install cdk synth --quiet --no-notices
	@ls -1 cdk.out/*.template.json

## Set everything up and run the whole test suite (lint, types, unit, snapshot, compliance,
## integration).
test: setup system-packages lint
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Synthesis time and template sizes against CloudFormation's limits.
benchmark: setup
	$(BIN)/python benchmarks/synth_benchmark.py

setup: $(STAMPS)/python $(STAMPS)/node

$(STAMPS)/python: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "mlpipes needs Python 3.11 or newer; run with PYTHON=python3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	mkdir -p $(STAMPS) && touch $@

$(STAMPS)/node: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(STAMPS) && touch $@

system-packages:
	scripts/install-system-packages.sh

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
