# orders-bridge: `make run` serves the demo, `make test` runs every check. See README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Demo-only settings; a real deployment sets its own (docs/configuration.md).
export BRIDGE_CONFIG_FILE ?= demo/apps.yaml
export BRIDGE_DATABASE_URL ?= sqlite:///.data/orders-bridge.db
export BRIDGE_EMAIL_KEYS ?= eSasqNRxInEDblhZrrpyxdZqfdj5cJHoLQZoT9PMSwo=
export BRIDGE_PORT ?= 8080

.PHONY: run run-incentives test check format lint types contracts pytest clean bench bench-smoke

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
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

# The demo app on the Incentives target: the sandbox on :8081 and a bridge on it (docs/mappings.md).
INCENTIVES_DB := sqlite:///.data/orders-bridge-incentives.db
run-incentives: $(STAMP)
	mkdir -p .data
	BRIDGE_DATABASE_URL=$(INCENTIVES_DB) $(BIN)/orders-bridge db upgrade
	BRIDGE_DATABASE_URL=$(INCENTIVES_DB) $(BIN)/orders-bridge load demo/data.yaml
	$(BIN)/orders-bridge sandbox --port 8081 --data demo/data.yaml \
	    --database-url sqlite:///.data/sandbox.db & sandbox=$$!; \
	  trap 'kill $$sandbox' EXIT INT TERM; \
	  BRIDGE_CONFIG_FILE=demo/apps-incentives.yaml BRIDGE_DATABASE_URL=$(INCENTIVES_DB) \
	    $(BIN)/orders-bridge serve

# Benchmarks (docs/performance.md): not part of `make test`; nginx and wrk come from Debian's
# packages, unpacked by bench/tools/ensure-nginx-wrk. Results go to bench/results/.
bench: $(STAMP)
	$(BIN)/python bench/run.py

bench-smoke: $(STAMP)
	$(BIN)/python bench/run.py --smoke

test: $(STAMP) format lint types contracts pytest

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
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .data .mypy_cache .ruff_cache .pytest_cache
