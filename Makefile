# mailer: `make demo` and `make test` work from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MAILER := $(VENV)/bin/mailer
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench lint fmt serve system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

# Chromium (browser tests), Postfix's smtp-sink (SMTP benchmark) and wrk (web
# benchmark) come from Debian; installed when we are root, otherwise the script
# says what to do.
system-deps:
	@bash scripts/system-deps.sh

demo: $(STAMP)
	@bash scripts/demo.sh

# Two processes: the suite spends much of its time waiting on servers,
# browsers and fsync, and stays under ten minutes on a two-core machine.
test: $(STAMP) system-deps
	$(PY) -m pytest -n 2

# The inner loop: SQLite only, no browser, no fault tests with real processes,
# spread over every core. `make test` (what CI runs) still runs everything.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not postgres and not chromium and not slow" -n auto -q

bench: $(STAMP) system-deps
	$(PY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check mailer tests bench
	$(VENV)/bin/ruff format --check mailer tests bench
	$(VENV)/bin/mypy

fmt: $(STAMP)
	$(VENV)/bin/ruff check --fix mailer tests bench
	$(VENV)/bin/ruff format mailer tests bench

serve: $(STAMP)
	$(MAILER) db upgrade
	$(MAILER) serve

clean:
	rm -rf var/build var/outbox var/bench
