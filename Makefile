# Two commands for a newcomer: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint lint-chart unit integration bench venv clean controlplane rules

# Both distributions, editable: the product (.) and the development one (dev/: the
# sandbox and the `demo` and `sandbox` verbs), which the image and `pip install .` leave out.
$(STAMP): pyproject.toml dev/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip
	PYTHONWARNINGS='ignore:Editable installation' $(BIN)/python -m pip install -q \
	  -e '.[test,lint,plot]' -e ./dev
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/reclaimer demo

lint: $(STAMP)
	$(BIN)/ruff check reclaimer dev tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# Helm chart, CRD and Dockerfile with real tools; helm is fetched into .tools/.
lint-chart: $(STAMP)
	scripts/lint-chart.sh
	$(BIN)/pytest -q tests/chart

# The real control plane for the `controlplane` tier (issue 22): etcd, Kubernetes, kwok and
# the KServe manager built from Go modules at the pins in tests/controlplane/pins.env, cached
# outside the clone ($$RECLAIMER_CONTROLPLANE_CACHE, default ~/.cache/reclaimer-controlplane).
controlplane:
	tests/controlplane/build.sh

# pytest on PYTEST_WORKERS processes (0: one, serial), each taking whole groups of tests
# (tests/fixtures/xdist_groups.py: a controlplane release, all of e2e, or a module).
PYTEST_WORKERS ?= 3
PYTEST := $(BIN)/pytest -q $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadgroup)

# The chart's tests run once, inside the full suite. The controlplane tier runs when Go
# is there (built first, cached); without Go one line says it is skipped, unless
# RECLAIMER_REQUIRE_CONTROLPLANE=1 (CI), which makes that a failure.
test: lint
	scripts/lint-chart.sh
	@tests/controlplane/gate.sh; rc=$$?; \
	if [ $$rc -eq 0 ]; then $(PYTEST); \
	elif [ $$rc -eq 1 ]; then $(PYTEST) -m "not controlplane"; \
	else exit $$rc; fi

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# The recording rules of prometheus.signals.mode: recorded, for Prometheus and the chart.
rules: $(STAMP)
	$(BIN)/python -c 'import sys; from reclaimer.signals.rules import render_file; sys.stdout.write(render_file())' > deploy/prometheus/reclaimer-rules.yaml
	cp deploy/prometheus/reclaimer-rules.yaml helm/reclaimer/rules/reclaimer-rules.yaml

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
