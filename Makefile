# orders-bridge: `make run` serves the demo, `make test` runs every check. See README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUNTIME_STAMP := $(VENV)/.installed-runtime

# Demo-only settings; a real deployment sets its own (docs/configuration.md).
export BRIDGE_CONFIG_FILE ?= demo/apps.yaml
export BRIDGE_DATABASE_URL ?= sqlite:///.data/orders-bridge.db
export BRIDGE_EMAIL_KEYS ?= eSasqNRxInEDblhZrrpyxdZqfdj5cJHoLQZoT9PMSwo=
export BRIDGE_PORT ?= 8080

.PHONY: run run-incentives rehearse test check format lint types contracts audit pytest lock clean \
	bench bench-smoke

# Every install comes from the lock files in requirements/ (exact pins with hashes, made by
# `make lock` from pyproject.toml): build.txt (pip, setuptools), runtime.txt (what serving
# needs: `make run`), dev.txt (runtime plus the checks: `make test`). The Dockerfile installs
# build.txt and runtime.txt the same way.
LOCKED := --quiet --require-hashes --no-deps
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): requirements/build.txt requirements/runtime.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(LOCKED) -r requirements/build.txt
	$(BIN)/pip install $(LOCKED) -r requirements/runtime.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(STAMP): requirements/build.txt requirements/dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(LOCKED) -r requirements/build.txt
	$(BIN)/pip install $(LOCKED) -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@ $(RUNTIME_STAMP)

# The lock and audit tools live in their own environment, locked too (requirements/tools.txt).
TOOLS := $(VENV)-tools
$(TOOLS)/.installed: requirements/tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install $(LOCKED) -r requirements/tools.txt
	touch $@

# Re-lock after changing a pin in pyproject.toml (tests/deploy/test_lock.py fails until then).
COMPILE := $(TOOLS)/bin/uv pip compile --quiet --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock"
lock: $(TOOLS)/.installed
	$(COMPILE) pyproject.toml -o requirements/runtime.txt
	$(COMPILE) pyproject.toml --extra dev -c requirements/runtime.txt -o requirements/dev.txt
	$(COMPILE) requirements/build.in -o requirements/build.txt
	$(COMPILE) requirements/tools.in -o requirements/tools.txt

# Known vulnerabilities in the locked dependencies; skipped, with the reason, where no
# advisory database is reachable (deploy/tools/audit-dependencies).
audit: $(TOOLS)/.installed
	$(TOOLS)/bin/python deploy/tools/audit-dependencies $(TOOLS)/bin/pip-audit \
	    requirements/dev.txt requirements/build.txt requirements/tools.txt

run: $(RUNTIME_STAMP)
	mkdir -p .data
	$(BIN)/orders-bridge db upgrade
	$(BIN)/orders-bridge load demo/data.yaml
	@echo
	@echo "orders-bridge is starting on http://127.0.0.1:$(BRIDGE_PORT). Place an order with:"
	@echo
	@echo "  curl -s -u demo-api-key:demo-api-secret -H 'Content-Type: application/json' \\"
	@echo "    -d '{\"order\": {\"quantity\": 1}}' \\"
	@echo "    http://127.0.0.1:$(BRIDGE_PORT)/priv/v1/apps/demo-api-key/users/demo-user-1/offers/1/orders"
	@echo
	$(BIN)/orders-bridge serve

# The demo app on the Incentives target: the sandbox on $(SANDBOX_PORT) and a bridge on it
# (docs/mappings.md). The apps file is demo/apps-incentives.yaml with the sandbox's address.
SANDBOX_PORT ?= 8081
INCENTIVES_DB := sqlite:///.data/orders-bridge-incentives.db
run-incentives: $(RUNTIME_STAMP)
	mkdir -p .data
	sed 's|http://127.0.0.1:8081|http://127.0.0.1:$(SANDBOX_PORT)|' demo/apps-incentives.yaml \
	    > .data/apps-incentives.yaml
	BRIDGE_DATABASE_URL=$(INCENTIVES_DB) $(BIN)/orders-bridge db upgrade
	BRIDGE_DATABASE_URL=$(INCENTIVES_DB) $(BIN)/orders-bridge load demo/data.yaml
	$(BIN)/orders-bridge sandbox --port $(SANDBOX_PORT) --data demo/data.yaml \
	    --database-url sqlite:///.data/sandbox.db & sandbox=$$!; \
	  trap 'kill $$sandbox' EXIT INT TERM; \
	  BRIDGE_CONFIG_FILE=.data/apps-incentives.yaml BRIDGE_DATABASE_URL=$(INCENTIVES_DB) \
	    $(BIN)/orders-bridge serve

# The cutover rehearsed on one machine (docs/rehearsal.md): a legacy stand-in, the sandbox, a
# fault proxy and a bridge on free ports (or REHEARSAL_PORT, +1, +2, +3), printed at start;
# Ctrl-C stops them.
rehearse: $(RUNTIME_STAMP)
	$(BIN)/python -m bridge.rehearse

# Benchmarks (docs/performance.md): not part of `make test`; nginx and wrk come from Debian's
# packages, unpacked by bench/tools/ensure-nginx-wrk. Results go to bench/results/.
bench: $(STAMP)
	$(BIN)/python bench/run.py

bench-smoke: $(STAMP)
	$(BIN)/python bench/run.py --smoke

test: $(STAMP) format lint types contracts audit pytest

check: test

format: $(STAMP)
	$(BIN)/ruff format --check .

lint: $(STAMP)
	$(BIN)/ruff check .

types: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest -n 2

clean:
	rm -rf $(VENV) $(TOOLS) .data .mypy_cache .ruff_cache .pytest_cache
