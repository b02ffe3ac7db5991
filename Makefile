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

.PHONY: synth test lint setup system-packages benchmark cost clean airflow-venv

## Set everything up and synthesize every stack of the bundled app into cdk.out/.
synth: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" npx --no-install cdk synth --quiet --no-notices
	@ls -1 cdk.out/*.template.json

## Set everything up and run the whole test suite (lint, types, unit, snapshot, compliance,
## integration).
test: setup system-packages lint airflow-venv
	MLPIPES_AIRFLOW_PYTHON="$(CURDIR)/$(AIRFLOW_VENV)/bin/python" $(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Synthesis time and template sizes against CloudFormation's limits.
benchmark: setup
	$(BIN)/python benchmarks/synth_benchmark.py

## Idle monthly cost of every stack at default settings, from the templates and the list
## prices of benchmarks/prices.json (us-east-1).
cost: setup
	$(BIN)/python benchmarks/cost_benchmark.py

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

## The separate virtualenv the tests run real Airflow in (Airflow 3.0.6 and the Amazon
## provider 9.12.0, pinned by the lock file, which says how it was resolved).
AIRFLOW_VENV ?= .venv-airflow
AIRFLOW_LOCK := tests/integration/airflow/requirements.lock.txt

airflow-venv: $(AIRFLOW_VENV)/.stamp

$(AIRFLOW_VENV)/.stamp: $(AIRFLOW_LOCK)
	test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		--no-deps -r $(AIRFLOW_LOCK)
	touch $@

system-packages:
	scripts/install-system-packages.sh

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
