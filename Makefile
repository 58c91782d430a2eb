# Two commands on a fresh machine:  make serve   (the app on SQLite with demo data)
#                                   make test    (lint, types, contracts and the whole test suite)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Measures data for 2023+ lives beside the clone in ../shared (CI) unless set otherwise.
SHARED_MEASURES := $(abspath ../shared/data/qpp-measures-data)
export OPENQPP_MEASURES_DATA ?= $(if $(wildcard $(SHARED_MEASURES)),$(SHARED_MEASURES),)

.PHONY: serve test setup setup-dev assets chromium java pgclient nginx lint typecheck contracts audit pytest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,spark]'
	touch $@ $(VENV)/.runtime

setup: $(VENV)/.runtime assets
setup-dev: $(VENV)/.dev assets chromium java pgclient nginx

# Pinned npm packs (measures data, CMS Design System, htmx, axe-core), verified by integrity hash.
assets: $(VENV)/.runtime
	$(BIN)/openqpp data install

# Debian's Chromium for the browser tests (Playwright's own browser download does not work here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# A Java runtime for the Spark engine's local-mode tests (PySpark drives a JVM).
java:
	@command -v java >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq default-jre-headless >/dev/null; }

# PostgreSQL client tools (pg_dump, pg_restore, psql) for `openqpp db backup|restore` and their tests.
pgclient:
	@command -v pg_dump >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql-client >/dev/null; }

# nginx in front of several `openqpp serve` instances for the deployment test (deploy/nginx), and
# openssl for its test certificate; the test runs its own nginx, not the packaged service.
nginx:
	@{ command -v nginx || [ -x /usr/sbin/nginx ]; } >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nginx openssl >/dev/null; }

serve: setup
	$(BIN)/openqpp serve --demo

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

typecheck: $(VENV)/.dev
	$(BIN)/mypy

contracts: $(VENV)/.dev
	$(BIN)/lint-imports

# Known vulnerabilities in the installed packages (pip-audit); says so when no service answers.
audit: $(VENV)/.dev
	$(BIN)/python tools/dependency_audit.py

pytest: setup-dev
	$(BIN)/pytest

test: setup-dev lint typecheck contracts audit pytest

clean:
	rm -rf $(VENV) .data src/openqpp/web/static/vendor .pytest_cache .mypy_cache .ruff_cache
