# Loa — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-sqlite lint typecheck bench eval-ai catalogs run migrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/pybabel compile --domain=messages --directory=bot/locales --statistics
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/loa demo

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy broadcasts

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks.bench_delivery

eval-ai: $(STAMP)
	$(BIN)/python -m tests.benchmarks.eval_ai

# Refresh the gettext catalogs after changing bot texts (then translate the new entries).
catalogs: $(STAMP)
	$(BIN)/pybabel extract --project=loa --no-location --sort-output -k _ -k __ -o bot/locales/messages.pot bot
	$(BIN)/pybabel update --domain=messages --input-file=bot/locales/messages.pot --output-dir=bot/locales --no-fuzzy-matching
	$(BIN)/pybabel compile --domain=messages --directory=bot/locales --statistics

run: $(STAMP)
	$(BIN)/loa run

migrate: $(STAMP)
	$(BIN)/loa migrate

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info
