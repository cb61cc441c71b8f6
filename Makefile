# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The demo and the benchmarks need the runtime only; tests and lint need the test extras too.
RUNTIME := $(VENV)/.installed-runtime
TESTING := $(VENV)/.installed-test

.PHONY: demo test lint bench bench-serving bench-whole-emdb clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the project's dependencies change.
$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(RUNTIME)

# The test extras include the runtime, so the runtime stamp is renewed too.
$(TESTING): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(TESTING) $(RUNTIME)

demo: $(RUNTIME)
	$(BIN)/empiar-mirror demo

test: $(TESTING)
	$(BIN)/pytest

lint: $(TESTING)
	$(BIN)/ruff check .

# Harvests synthetic archives over loopback, this version beside the previous one and a
# baseline script, each timed run repeated (long: see benchmarks/RESULTS.md for how long);
# writes benchmarks/RESULTS.md. Fewer repeats: make bench BENCH_ARGS="--repeats 1".
bench: $(RUNTIME)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# The portal under load over loopback (200 clients, slow queries beside a visitor, memory); a
# few minutes; writes benchmarks/SERVING.md.
bench-serving: $(RUNTIME)
	$(BIN)/python -m benchmarks.serving $(BENCH_ARGS)

# `harvest --emdb all` on a synthetic EMDB (60,000 maps, 35,000 models) over loopback: first
# harvest, weekly update, file size, peak RSS, the portal at that size; prints a Markdown report
# (benchmarks/WHOLE_EMDB.md). About 1.5 GB in a temporary directory; smaller:
# make bench-whole-emdb BENCH_ARGS="--maps 6000 --models 3500".
bench-whole-emdb: $(RUNTIME)
	$(BIN)/python -m benchmarks.whole_emdb $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
