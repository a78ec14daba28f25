# Jingwang: `make run` sets up, trains the default model if missing, scores the demo posts.
#           `make test` sets up and runs the test suite.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MODEL ?= models/default
OUT ?= out

.PHONY: setup run test test-all bench clean

$(BIN)/jingwang: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: the CPU build on this machine's disk, not a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test]"
	touch $(BIN)/jingwang

setup: $(BIN)/jingwang

$(MODEL)/config.json: | setup
	$(BIN)/jingwang train --config configs/fast.toml --out $(MODEL)

run: setup $(MODEL)/config.json
	@mkdir -p $(OUT)
	$(BIN)/jingwang score data/samples/posts.jsonl --model $(MODEL) --out $(OUT)/scored.jsonl --flagged $(OUT)/flagged.jsonl
	@echo "Scored posts: $(OUT)/scored.jsonl   Flagged for review (by priority): $(OUT)/flagged.jsonl"

test: setup
	$(BIN)/python -m pytest -q -m "not slow"

test-all: setup
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(OUT) .pytest_cache
