# tradelane: two commands on a fresh machine (Python 3.11 + make): `make demo`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SCENARIO ?= datasets/sea-72h
DEMO_OUT ?= out/demo

.PHONY: venv demo test test-all lint bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tradelane validate $(SCENARIO)
	$(BIN)/tradelane plan $(SCENARIO) --out $(DEMO_OUT) --time-limit 60

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -n auto

test-all: lint
	$(BIN)/python -m pytest -n auto --runslow

bench: $(STAMP)
	$(BIN)/python -m benchmarks.graph_paths

clean:
	rm -rf $(VENV) out .pytest_cache
