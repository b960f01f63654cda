# verinfer: `make demo` and `make test` set everything up themselves (venv, npm tools, models).
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
TOOLS := tools/node_modules
export VERINFER_DATA_DIR ?= $(CURDIR)/.verinfer
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test test-fast bench lint format models clean

setup: $(VENV)/.stamp $(TOOLS)/.stamp native models

$(VENV)/.stamp: requirements.lock pyproject.toml
	@command -v $(PY) >/dev/null || { echo "error: $(PY) not found; install Python 3.11"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -c "import torch, ezkl, onnxruntime, web3, fastapi"
	touch $@

# npm ci rejects this lock (it lists the other platforms' optional anvil builds); npm install
# honours the lock all the same and leaves it unchanged.
$(TOOLS)/.stamp: tools/package.json tools/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found; install Node.js 20 and npm"; exit 1; }
	cd tools && npm install --no-audit --no-fund --loglevel=error
	$(BIN)/python -m contracts.toolcheck
	touch $@

models: $(VENV)/.stamp
	$(BIN)/verinfer models build --all

demo: setup
	$(BIN)/verinfer demo

test: setup lint
	$(BIN)/python -m pytest -q

test-fast: $(VENV)/.stamp
	$(BIN)/python -m pytest -q -m "not slow"

bench: setup
	$(BIN)/python -m bench

lint: $(VENV)/.stamp
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy .

format: $(VENV)/.stamp
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(TOOLS) .verinfer

# The C libraries: batched keccak for Merkle commitments and the executor's elementwise kernels
# (both also built lazily on first use).
.PHONY: native
native: $(VENV)/.stamp
	$(BIN)/python -m disputes.execution.native_build
