# Loa — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install browser demo test lint fuzz bench eval-ai catalogs run migrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Compiled catalogs are build products (not in git): compiled whenever a .po is newer.
MO := broadcasts/locales/vi/LC_MESSAGES/messages.mo broadcasts/locales/en/LC_MESSAGES/messages.mo
broadcasts/locales/%/LC_MESSAGES/messages.mo: broadcasts/locales/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --domain=messages --directory=broadcasts/locales --locale=$* --statistics

install: $(STAMP) $(MO)

demo: install
	$(BIN)/loa demo

# The page tests drive Debian's Chromium headless (Playwright's own browser download fails
# offline): installed here when missing, with sudo when not root.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The colour emoji font draws the dashboard's 🔔 ✅ in its screenshots.
EMOJI_FONT := /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
BROWSER_PACKAGES := chromium fonts-noto-color-emoji
browser:
	@[ -x $(CHROMIUM) ] && [ -e $(EMOJI_FONT) ] || { $(SUDO) apt-get install -y -q $(BROWSER_PACKAGES) || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $(BROWSER_PACKAGES); }; }

# Most tests wait on Telegram's pacing rather than use the CPU: several run side by side.
TEST_WORKERS ?= 6
test: install browser
	$(BIN)/pytest -q -n $(TEST_WORKERS)

# Schemathesis against the live API (all checks, negative data, stateful) on SQLite and
# PostgreSQL; `make test` runs the same test with fewer examples per operation.
FUZZ_EXAMPLES ?= 50
fuzz: install
	LOA_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q -n 2 -rP --show-capture=stdout -m fuzz tests/api/test_fuzz.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy broadcasts api bot loa sandbox

# The peers' own environment: python-telegram-bot and aiogram-broadcaster are never Loa's
# dependencies. A peer that will not install is skipped, and the benchmark says so.
BENCH_VENV := .bench-venv
$(BENCH_VENV)/.installed:
	$(PYTHON) -m venv $(BENCH_VENV)
	-$(BENCH_VENV)/bin/pip install --quiet "python-telegram-bot[rate-limiter]"
	-$(BENCH_VENV)/bin/pip install --quiet aiogram-broadcaster
	touch $@

bench: $(STAMP) $(BENCH_VENV)/.installed
	$(BIN)/python -m tests.benchmarks.bench_delivery
	$(BIN)/python -m tests.benchmarks.bench_acks --quick

eval-ai: $(STAMP)
	$(BIN)/python -m tests.benchmarks.eval_ai

# Refresh the gettext catalogs after changing bot texts (then translate the new entries).
catalogs: $(STAMP)
	$(BIN)/pybabel extract --project=loa --no-location --sort-output -F broadcasts/locales/babel.cfg -k _ -k __ -k ngettext:1,2 -o broadcasts/locales/messages.pot bot broadcasts loa api
	$(BIN)/pybabel update --domain=messages --input-file=broadcasts/locales/messages.pot --output-dir=broadcasts/locales --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile --domain=messages --directory=broadcasts/locales --statistics

run: $(STAMP)
	$(BIN)/loa run

migrate: $(STAMP)
	$(BIN)/loa migrate

clean:
	rm -rf $(VENV) $(BENCH_VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info
