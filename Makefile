# Standby: `make demo` runs everything on one machine; `make test` runs the whole suite.
# Needs Python 3.11; the tests also need npm and Node.js 20 (they fetch the FHIR R4 examples,
# 18 MB, and a second FHIR server for the sync tests, 116 MB, once).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
EXAMPLES := .cache/hl7.fhir.r4.examples-4.0.1.tgz
AXE := .cache/node_modules/axe-core/axe.min.js
MEDPLUM := .cache/medplum/node_modules/@medplum/fhir-router/package.json
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: setup demo demo-edge test test-fast lint clean

$(BIN)/standby: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/standby

# the FHIR R4 examples, used by one store test only: fetched by `make test`, not the demo
$(EXAMPLES):
	mkdir -p .cache && cd .cache && npm pack --silent hl7.fhir.r4.examples@4.0.1 >/dev/null

setup: $(BIN)/standby

# axe-core, for the accessibility test only (tests/web/test_web_accessibility.py)
$(AXE):
	mkdir -p .cache && cd .cache && npm install --silent --no-save --no-package-lock --prefix . axe-core@4.14.1

# the second FHIR server of the sync tests (tests/support/second_server): Medplum's FHIR router.
# Its own npm prefix: an install into a prefix removes what another install put there.
$(MEDPLUM):
	mkdir -p .cache/medplum && cd .cache/medplum && npm install --silent --no-save --no-package-lock --prefix . @medplum/fhir-router@5.2.13

# The demo's viewer port and folder (`make demo DEMO_PORT=18080` when 8080 is taken; the
# same DEMO_PORT then for `make demo-edge`); DEMO_ARGS: more `standby demo` options, e.g.
# `--ehr-port 0 --hl7-port 0` when another demo holds 8090 and 2575.
DEMO_PORT ?= 8080
EDGE_PORT ?= 8081
DEMO_DIR ?= demo-data
DEMO_ARGS ?=

demo: setup
	$(BIN)/standby demo --port $(DEMO_PORT) --dir $(DEMO_DIR) $(DEMO_ARGS)

# A second node (an edge node, docs/edge-nodes.md) copying unit 3W from a running `make demo`
# into edge-demo/: it registers itself on the demo, syncs 3W once, adds the login nurse3w
# (password standby-demo), prints 3W's packets, then keeps syncing and serves its viewer on
# EDGE_PORT. Stop the demo (Ctrl-C in its terminal): the second node carries on alone.
EDGE_SYNC = ../$(BIN)/standby sync --source http://127.0.0.1:$(DEMO_PORT)/fhir \
	--auth smart-backend --client-id "$$(cat client-id)" --private-key edge.pem --units 3W --db edge-3w.db
demo-edge: setup
	rm -rf edge-demo && mkdir -m 700 edge-demo
	$(BIN)/standby keys generate --out edge-demo/edge.pem > edge-demo/edge.jwks.json
	STANDBY_DB_KEY_FILE=$(DEMO_DIR)/standby.key $(BIN)/standby clients add demo-edge \
		--db $(DEMO_DIR)/standby.db --jwks edge-demo/edge.jwks.json > edge-demo/client-id
	$(BIN)/standby keys create edge-demo/edge.key
	cd edge-demo && export STANDBY_DB_KEY_FILE=edge.key && $(EDGE_SYNC) --once && \
	echo standby-demo | ../$(BIN)/standby user add nurse3w --role nurse --unit loc-3w \
		--db edge-3w.db --password-stdin && \
	../$(BIN)/standby report --db edge-3w.db --unit 3W --out edge-packets && \
	echo "3W's packets: edge-demo/edge-packets/loc-3w/; sync log: edge-demo/sync.log" && \
	{ $(EDGE_SYNC) --watch --interval 10 > sync.log 2>&1 & trap "kill $$!" EXIT INT TERM; \
	  ../$(BIN)/standby serve --db edge-3w.db --port $(EDGE_PORT) --no-monitor; }

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

# --dist loadgroup: the workers take tests one at a time, the longest first (tests/conftest.py)
test: setup $(EXAMPLES) lint $(AXE) $(MEDPLUM)
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test-fast: setup $(EXAMPLES) $(MEDPLUM)
	$(BIN)/python -m pytest -n 2 -m "not slow and not browser and not postgres" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
