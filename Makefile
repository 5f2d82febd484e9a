# Set-up is part of every target: a fresh machine needs only `make run` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PORT ?= 8080

.PHONY: run test lint bench soak clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

run: $(STAMP)
	$(BIN)/apiway serve examples/petstore/apiway.yaml --port $(PORT)

# ruff, then the import floors and cycles (pyproject's [tool.importlinter]), then the type checker.
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

# The end-to-end suites run once per HTTP front-end: native (the default) and uvicorn.
test: lint
	$(BIN)/python -m pytest tests
	APIWAY_TEST_SERVER=uvicorn $(BIN)/python -m pytest tests/e2e tests/conformance

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --write-doc docs/performance.md

# Not part of `test`: full load over MOCK, HTTP_PROXY and a worker-mode function for SOAK_SECONDS, the RSS of the
# server's process tree and the function log directory sampled throughout (benchmarks/soak.py --help).
SOAK_SECONDS ?= 600
SOAK_OUT ?= .apiway/soak/soak.json
soak: $(STAMP)
	$(BIN)/python benchmarks/soak.py --duration $(SOAK_SECONDS) --out $(SOAK_OUT)

clean:
	rm -rf $(VENV) .apiway .pytest_cache
