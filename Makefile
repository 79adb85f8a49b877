# Two commands for a newcomer: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint lint-chart unit integration bench venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip
	PYTHONWARNINGS='ignore:Editable installation' $(BIN)/python -m pip install -q -e '.[test,lint,plot]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/reclaimer demo

lint: $(STAMP)
	$(BIN)/ruff check reclaimer tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# Helm chart, CRD and Dockerfile with real tools; helm is fetched into .tools/.
lint-chart: $(STAMP)
	scripts/lint-chart.sh
	$(BIN)/pytest -q tests/chart

# The chart's tests run once, inside the full suite.
test: lint
	scripts/lint-chart.sh
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
