# The README's two commands are `make demo` and `make test`; both set themselves up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench-quick bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## First command: set up and run the demo on the embedded default (SQLite, in-process jobs).
demo: $(STAMP)
	$(BIN)/amo-bridge demo

## Second command: set up and run the whole test suite. Tests that need PostgreSQL or Redis run
## when DATABASE_URL / REDIS_URL are set; REQUIRE_SERVICES=1 makes their absence an error.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Every benchmark once, small (CI runs this so they keep working).
bench-quick: $(STAMP)
	$(BIN)/python bench/run_all.py --quick

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) instance .pytest_cache
