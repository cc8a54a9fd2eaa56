# Everything starts here: `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: help setup demo serve test lint format clean client
.DEFAULT_GOAL := help

help:  ## this list
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 16

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install the project with its dev tools

# make demo CONSOLE=8090: after the checks, the console on http://127.0.0.1:8090 until Ctrl-C.
CONSOLE ?=
demo: setup  ## start the mock on a temporary SQLite file, run steady-state, inspect, stop (CONSOLE=PORT: then serve the console)
	$(BIN)/twin demo $(if $(CONSOLE),--console $(CONSOLE),)

serve: setup  ## serve the mock on http://127.0.0.1:8080/v1 (state in ./var/mock-core.db)
	$(BIN)/mock-core serve

lint: setup  ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup  ## ruff format and ruff check --fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint  ## lint, then the whole test suite
	$(BIN)/python -m pytest -q

# turingcore_sdk/ is generated from the spec, never edited by hand (sdkgen/generate.py,
# settings in sdkgen/config.yaml); tests/test_sdk.py fails when it is stale.
client: setup  ## regenerate the client package turingcore_sdk/ from openapi/turingcore.v1.yaml
	$(BIN)/python -m sdkgen.generate

clean:  ## remove the venv, the outputs and the caches
	rm -rf $(VENV) var output .pytest_cache .mypy_cache .ruff_cache .hypothesis

# The benchmark harness (issue 6): wrk against the floor and the mock, the twin end to
# end, query latency. Results: bench/results/*.json and bench/results/summary.md.
# Options: make bench BENCH_ARGS="--quick" (or --full, --only post_entry,twin, --runs 5 ...).
BENCH_ARGS ?=
.PHONY: bench
bench: setup  ## benchmarks (about 40 min; BENCH_ARGS=--quick for a 3-minute smoke run)
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python bench/faults.py $(if $(findstring --quick,$(BENCH_ARGS)),--quick,)
