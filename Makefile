# modelgap: `make run` starts the app on the demo; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DEMO_DIR := .modelgap/demo
HOST ?= 127.0.0.1
PORT ?= 8501
# The venv's bin first: `mlflow models serve --env-manager local` starts uvicorn from PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION := false
export STREAMLIT_BROWSER_GATHER_USAGE_STATS := false

.PHONY: run test lint bench demo setup setup-dev chromium clean

# Reinstall only when a requirements file changed (the stamp is older than it).
$(VENV)/.runtime-stamp: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev-stamp: $(VENV)/.runtime-stamp requirements-dev.txt
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

setup: $(VENV)/.runtime-stamp
setup-dev: $(VENV)/.dev-stamp

# The demo comparison is computed into the result cache too, so `make run` opens on it at once.
$(DEMO_DIR)/.complete: | $(VENV)/.runtime-stamp
	$(PY) -m modelgap demo --dir $(DEMO_DIR)
	$(PY) -c 'from modelgap.demo import warm_cache; warm_cache("$(DEMO_DIR)")' || echo "Demo comparison not cached"

demo: $(DEMO_DIR)/.complete

run: setup demo
	$(PY) serve.py --server.address $(HOST) --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

# Debian's chromium drives the browser tests; browsers cannot be downloaded here.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Two pytest-xdist workers, one per core; tests/conftest.py keeps each module (and each costly shared fixture's
# modules) on one worker. `make test WORKERS=0` runs in one process.
WORKERS ?= 2
test: setup-dev demo chromium
	$(PY) -m pytest -n $(WORKERS) --dist loadgroup

# Dead code: unused functions, methods, classes and imports fail the lint (unused fields and attributes are
# reported too often for JSON-bound dataclasses to gate on). Names used only from outside (or by pickle: persistent_id/load): --ignore-names.
DEAD_CODE_IGNORE := __getattr__,run_fits,source_for,warm_cache,persistent_id,persistent_load

lint: setup-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	@dead=$$($(PY) -m vulture modelgap components pages app.py serve.py --min-confidence 60 \
		--ignore-names "$(DEAD_CODE_IGNORE)" | grep -E "unused (function|method|class|import)" || true); \
	if [ -n "$$dead" ]; then echo "$$dead"; echo "Dead code: remove it (or add a name used from outside to DEAD_CODE_IGNORE)."; exit 1; fi

bench: setup-dev demo chromium
	$(PY) -m benchmarks.run

# .modelgap holds the demo workspace and the result cache (.modelgap/cache, unless MODELGAP_CACHE_DIR moves it).
clean:
	rm -rf $(VENV) .modelgap .pytest_cache .mypy_cache .ruff_cache test-artifacts
	@if [ -n "$$MODELGAP_CACHE_DIR" ]; then rm -f "$$MODELGAP_CACHE_DIR"/*.result "$$MODELGAP_CACHE_DIR"/signing.key; fi
