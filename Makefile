# Ask Panel: `make run` serves on the embedded defaults; `make test` runs every check; `make test-fast` the quick ones.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The lowest line coverage `make test` accepts under CI=true (where every backend's tests run).
COVERAGE_FLOOR ?= 90
# pytest-xdist workers for `make test`: most tests wait on servers, browsers and processes rather than
# compute, so two workers halve the suite's time on a two-core machine (`TEST_WORKERS=0` runs it serially).
TEST_WORKERS ?= 2
FAST_TESTS := tests/unit tests/contract tests/api
FAST_MARKERS := not (sqlite or postgres or redis or slow or fuzz)

.PHONY: run test test-fast lint typecheck install lock clean bench

# Installs exactly the versions pinned in constraints.txt (made from pyproject.toml by `make lock`).
$(BIN)/ask-panel: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[server,dev]'
	touch $(BIN)/ask-panel

# The OpenAPI client generator, in an environment of its own (its typer bound conflicts with the CLI's).
CODEGEN := $(VENV)/tools/openapi-python-client
$(CODEGEN)/bin/openapi-python-client: tools/openapi-python-client.txt $(BIN)/ask-panel
	$(PYTHON) -m venv $(CODEGEN)
	$(CODEGEN)/bin/python -m pip install --quiet -r tools/openapi-python-client.txt
	touch $(CODEGEN)/bin/openapi-python-client

install: $(BIN)/ask-panel $(CODEGEN)/bin/openapi-python-client

# Re-pin the dependencies after changing pyproject.toml (commit both files together); pins that
# still satisfy the bounds are kept. `make lock UPGRADE=1` moves every pin to the newest release.
lock: install
	$(BIN)/pip-compile --quiet --extra server --extra dev --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
		$(if $(UPGRADE),--upgrade) --output-file constraints.txt pyproject.toml
	$(BIN)/pip-compile --quiet --allow-unsafe --no-emit-index-url --no-emit-find-links \
		$(if $(UPGRADE),--upgrade) --output-file tools/openapi-python-client.txt tools/openapi-python-client.in

run: install
	ASK_PANEL_AUTH_MODE=$${ASK_PANEL_AUTH_MODE:-none} $(BIN)/ask-panel serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

# The fuzz-marked tests run afterwards in one process: schemathesis gives its generated tests one shared
# id, which pytest-xdist cannot tell apart (it would run one operation of nineteen), and their last test
# counts the cases the others sent.
test: install lint typecheck
	$(BIN)/pytest -q -n $(TEST_WORKERS) -m "not fuzz" --cov --cov-report=
	$(BIN)/pytest -q -m fuzz --cov --cov-append --cov-report=term $(if $(filter true 1 yes,$(CI)),--cov-fail-under=$(COVERAGE_FLOOR))

# Unit, contract and API tests on the in-memory adapters (no database server, no processes).
test-fast: install
	$(BIN)/pytest -q -m "$(FAST_MARKERS)" $(FAST_TESTS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage data
