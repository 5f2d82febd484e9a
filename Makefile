# Set-up is part of every target: a fresh machine needs only `make run` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PORT ?= 8080
# `make fuzz`: each target runs this long, one after another, at this niceness (see fuzz/README.md).
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= http vtl jsonpath openapi sigv4
FUZZ_NICE ?= 19
FUZZ_STAMP := $(VENV)/.fuzz-$(shell cksum pyproject.toml | cut -d' ' -f1)
# The dashboard's chart library: from npm (web/package-lock.json) into the package's static folder, git-ignored.
UPLOT := src/apiway/telemetry/dashboard_static/vendor/uPlot.iife.min.js

.PHONY: run test lint compiled bench bench-websocket bench-workers bench-observability bench-scaling soak fuzz fuzz-seeds clean

$(STAMP): pyproject.toml | $(UPLOT)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

$(UPLOT): web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(@D) && cp web/node_modules/uplot/dist/uPlot.iife.min.js web/node_modules/uplot/dist/uPlot.min.css $(@D)/

# The hot path compiled by mypyc when its sources changed (src/apiway/compiled.py; pure Python where that fails,
# except under `make test`, which tests what `make run` serves).
COMPILE_STRICT ?= False
compiled: $(STAMP)
	$(BIN)/python -c 'import apiway.compiled as c; raise SystemExit(c.build(strict=$(COMPILE_STRICT)))'

run: compiled
	$(BIN)/apiway serve examples/petstore/apiway.yaml --port $(PORT)

# ruff, then the import floors and cycles (pyproject's [tool.importlinter]), then the type checker.
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks fuzz
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

# The end-to-end suites run once per HTTP front-end: native (the default) and uvicorn.
test: COMPILE_STRICT = True
test: lint compiled
	$(BIN)/python -m pytest tests
	APIWAY_TEST_SERVER=uvicorn $(BIN)/python -m pytest tests/e2e tests/conformance

# Coverage-guided fuzzing with atheris (the `fuzz` extra): not part of `make test`.
$(FUZZ_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,fuzz]'
	rm -f $(VENV)/.fuzz-* && touch $(FUZZ_STAMP)

fuzz: $(FUZZ_STAMP)
	nice -n $(FUZZ_NICE) $(BIN)/python -m fuzz.campaign --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-seeds: $(STAMP)
	$(BIN)/python -m fuzz.seeds $(FUZZ_TARGETS)

# CPU per request against nginx (wrk), then instructions per request under valgrind's callgrind (skipped with a
# note without valgrind); about 16 minutes. Also writes the History row of the current version.
bench: compiled
	$(BIN)/python benchmarks/run.py --write-doc docs/performance.md

# WebSocket APIs: memory per idle connection, CPU per message, a broadcast (benchmarks/websocket.py --help).
bench-websocket: compiled
	$(BIN)/python benchmarks/websocket.py --write-doc docs/performance.md

# `serve --workers 2` against one worker, MOCK requests/s (benchmarks/workers.py --help; needs wrk).
bench-workers: compiled
	$(BIN)/python benchmarks/workers.py --write-doc docs/performance.md

# What metrics, access logs and tracing add per request to the same MOCK method (benchmarks/observability.py --help).
bench-observability: compiled
	$(BIN)/python benchmarks/observability.py --write-doc docs/performance.md
	$(BIN)/python benchmarks/observability.py --pipeline 16 --write-doc docs/performance.md

# How cost grows with routes, API keys, connections and body sizes; memory per idle connection (about 7 minutes;
# benchmarks/scaling.py --help; needs wrk and nginx).
bench-scaling: compiled
	$(BIN)/python benchmarks/scaling.py --write-doc docs/performance.md

# Not part of `test`: full load over MOCK, HTTP_PROXY and a worker-mode function for SOAK_SECONDS, the RSS of the
# server's process tree and the function log directory sampled throughout (benchmarks/soak.py --help).
SOAK_SECONDS ?= 600
SOAK_OUT ?= .apiway/soak/soak.json
soak: compiled
	$(BIN)/python benchmarks/soak.py --duration $(SOAK_SECONDS) --out $(SOAK_OUT)

clean:
	rm -rf build src/apiway/compiled.txt $$(find src -name '*.so')
	rm -rf $(VENV) .apiway .pytest_cache fuzz/corpus fuzz/findings web/node_modules $(dir $(UPLOT))
