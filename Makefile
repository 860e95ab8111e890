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

.PHONY: setup demo test test-fast lint clean

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

demo: setup
	$(BIN)/standby demo

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
