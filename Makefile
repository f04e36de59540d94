# Two commands for a new user: `make serve` and `make test`. Everything else builds on them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 7860

.PHONY: serve test test-fast lint install local system-packages eval fit-reader clean-index help

help:
	@echo "make serve   install into .venv, ingest seeds/ if the index is empty, serve http://127.0.0.1:$(PORT)/"
	@echo "make test    install into .venv (and Debian's chromium, postgresql, redis-server if missing), run the tests"
	@echo "make test-fast  make lint, then the tests that load no model and start no server or browser (seconds)"
	@echo "make lint    ruff over assistant/, bench/ and tests/"
	@echo "make eval    score the assistant on ../shared/evaldata/xquad-dev and print the summary"
	@echo "make fit-reader  train the reader on SQuAD 1.1 (about two hours on 2 idle cores; never run by the tests)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall whenever the project's dependencies change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# The `local` LLM backend's runtime: llama-cpp-python, compiled from source (several minutes, once).
local: $(STAMP)
	CMAKE_ARGS="-DLLAVA_BUILD=OFF" $(BIN)/pip install --quiet -e ".[test,local]"

serve: $(STAMP)
	$(BIN)/assistant serve --port $(PORT) --seed seeds

# What the tests start besides Python: Debian's Chromium (browser tests), PostgreSQL and Redis (replica tests,
# each started by the test in a temp dir on 127.0.0.1). Installed when missing (needs root, as on CI).
SYSTEM_PACKAGES = $(strip \
	$(if $(shell command -v chromium),,chromium) \
	$(if $(wildcard /usr/lib/postgresql/*/bin/postgres),,postgresql) \
	$(if $(shell command -v redis-server),,redis-server))
system-packages:
	@if [ -n "$(SYSTEM_PACKAGES)" ]; then echo "installing $(SYSTEM_PACKAGES)"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; fi

# Two workers (pytest-xdist): most of a test's time is a server, a browser or a command starting, which leaves
# the second core idle. A file's tests stay on one worker, so a module's servers (PostgreSQL, `assistant serve`)
# start once. `make test TEST_WORKERS=auto` on a machine with more cores; `TEST_WORKERS=0` runs them in turn.
TEST_WORKERS ?= 2
# pytest exits 5 when it collected no tests: that is a failure here, not a pass.
test: $(STAMP) system-packages
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

# The fast tier: pure functions and parsers, no model, server or browser (marked `fast`).
# Only the files that hold fast tests are collected: importing the others (gradio, servers) takes seconds.
FAST_TESTS = $(shell grep -l "mark.fast" tests/test_*.py)
test-fast: lint
	$(BIN)/python -m pytest -m fast -q $(FAST_TESTS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no fast tests: failing"; exit 1; fi; exit $$status

# ruff, with the rules chosen (and why) in pyproject.toml's [tool.ruff.lint]
lint: $(STAMP)
	$(BIN)/ruff check assistant bench tests

EVALDATA ?= ../shared/evaldata
EVAL_OUT ?= eval-out

# Score the assistant on xquad-dev and print the summary; EVAL_ARGS adds options (--fail-under ...).
eval: $(STAMP)
	$(BIN)/assistant eval $(EVALDATA)/xquad-dev/questions.jsonl --corpus $(EVALDATA)/xquad-dev/articles --out $(EVAL_OUT)/xquad-dev $(EVAL_ARGS)
	@echo "report: $(EVAL_OUT)/xquad-dev/report.html"

# Train the reader on SQuAD 1.1: two passes over the training questions, the second in another order at half the
# learning rate (about an hour each on 2 cores; resumable: run it again after an interruption), printing the
# validation figures after each. Never run by the tests.
READER_OUT ?= bench/out/reader-full
fit-reader: $(STAMP)
	nice -n 19 $(BIN)/python -m bench.train_reader --full --negatives similar --steps 5000 --lr 1e-4 --out $(READER_OUT)-1
	nice -n 19 $(BIN)/python -m bench.train_reader --full --negatives similar --steps 5000 --lr 5e-5 \
		--init-from $(READER_OUT)-1 --order-seed 15 --out $(READER_OUT)
	@echo "to ship it: $(BIN)/python -m bench.train_reader --full --out $(READER_OUT) --evaluate --ship"

clean-index:
	find index -mindepth 1 ! -name README.md -exec rm -rf {} +
