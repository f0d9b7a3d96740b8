# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test deps system-deps lock lint bench clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip sync -q --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

deps: $(STAMP)

system-deps:
	./scripts/install-system-deps.sh

## lock: re-pin every dependency after editing pyproject.toml
lock:
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

## run: the whole local stack (Postgres and Redis are already running on this machine)
run: deps system-deps
	$(BIN)/python scripts/run_stack.py

## test: the whole suite against real services
test: deps system-deps
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint:
	$(BIN)/ruff check api agent checks exporters tests benchmarks dashboards scripts
	$(BIN)/mypy api agent checks exporters dashboards

bench: deps system-deps
	$(BIN)/python -m benchmarks.$(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache
