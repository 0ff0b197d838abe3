# Two commands for a fresh machine:  make demo  ·  make test
# Prerequisites: Python 3.11+ (with venv), a JDK 17+, Maven, a C++ compiler (pdqhash is built
# from its source distribution). Everything else installs itself.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
CETS   := $(VENV)/bin/cets
STAMP  := $(VENV)/.installed

.PHONY: help install protos opensearch apt-lists browser postgres demo test unit lint bench clean

help:
	@echo "make demo   - start 3 agencies (own OpenSearch + node each), load sample data, search"
	@echo "make test   - install, lint and run every test (starts a real OpenSearch and PostgreSQL)"
	@echo "make unit   - the fast tests only (no OpenSearch)"
	@echo "make lint   - ruff and mypy"
	@echo "make browser - install Chromium for the web page's browser test (needs root)"
	@echo "make postgres - install PostgreSQL for the case store's tests (needs root)"
	@echo "make protos - regenerate protos/gen from protos/cets"
	@echo "make bench  - every benchmark, then bench/results/summary-<date>.md (about 45 minutes)"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	PIP_NO_BINARY=pdqhash $(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

protos: install
	$(PY) protos/generate.py

opensearch: install
	$(CETS) opensearch fetch

# Debian packages the tests use, installed when missing and run as root. Each HAVE_ check is
# a shell condition; apt-lists refreshes the package lists once for both, and only if needed.
HAVE_CHROMIUM = [ -x /usr/bin/chromium ]
HAVE_POSTGRES = ( for bin in /usr/lib/postgresql/*/bin; do [ -x "$$bin/initdb" ] && [ -x "$$bin/postgres" ] && exit 0; done; exit 1 )
APT_INSTALL   = DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=300

apt-lists:
	@if [ "$$(id -u)" = 0 ] && ! { $(HAVE_CHROMIUM) && $(HAVE_POSTGRES); }; then apt-get update; fi

# The web page's test drives a real Chromium: Debian's package, at /usr/bin/chromium.
browser: apt-lists
	@if ! $(HAVE_CHROMIUM); then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "Chromium is missing: install it as root (apt-get install chromium), then run make test again." >&2; \
	    exit 1; \
	  fi; \
	  $(APT_INSTALL) chromium; \
	fi

# The case store's tests start a PostgreSQL server of their own (never the system's cluster)
# from Debian's package: initdb and postgres in /usr/lib/postgresql/<major>/bin.
postgres: apt-lists
	@if ! $(HAVE_POSTGRES); then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "PostgreSQL is missing: install it as root (apt-get install postgresql), then run make test again." >&2; \
	    exit 1; \
	  fi; \
	  $(APT_INSTALL) postgresql; \
	fi

demo: opensearch
	$(CETS) demo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

unit: install
	$(PY) -m pytest tests/unit

test: opensearch browser postgres lint
	$(PY) -m pytest

bench: opensearch
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
