# DocSpace Sentinel. `make demo` runs the workflows against the bundled simulator;
# `make test` installs what it needs and runs every check CI runs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

# Code checked by ruff and mypy: the layer, the handlers and the local tooling.
SOURCES := shared local $(wildcard functions/*/app.py)

.PHONY: demo test lint typecheck template unit soak bench simulator clean

$(STAMP): requirements-dev.txt shared/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m local.demo

simulator: $(STAMP)
	$(BIN)/python -m local.simulator --port 8765

test: $(STAMP) lint typecheck template unit

lint: $(STAMP)
	$(BIN)/ruff check $(SOURCES) tests
	$(BIN)/ruff format --check $(SOURCES) tests

typecheck: $(STAMP)
	$(BIN)/mypy $(SOURCES)

template: $(STAMP)
	$(BIN)/sam validate --lint --region us-east-1
	$(BIN)/cfn-lint template.yaml
	local/sam_build.sh

unit: $(STAMP)
	$(BIN)/pytest

# Benchmarks print figures against their floors (not timed tests); --quick for a short run.
bench: $(STAMP)
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

# The long fault-injection soak: every workflow over many seeds (SENTINEL_SOAK_SEEDS per profile).
soak: $(STAMP)
	SENTINEL_SOAK=1 $(BIN)/pytest tests/faults -m soak

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
