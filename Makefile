# Two commands for a fresh machine:  make demo  ·  make test
# Prerequisites: Python 3.11+ (with venv), a JDK 17+, Maven. Everything else installs itself.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
CETS   := $(VENV)/bin/cets
STAMP  := $(VENV)/.installed

.PHONY: help install protos opensearch browser demo test unit lint bench clean

help:
	@echo "make demo   - start 3 agencies (own OpenSearch + node each), load sample data, search"
	@echo "make test   - install, lint and run every test (starts a real OpenSearch)"
	@echo "make unit   - the fast tests only (no OpenSearch)"
	@echo "make lint   - ruff and mypy"
	@echo "make browser - install Chromium for the web page's browser test (needs root)"
	@echo "make protos - regenerate protos/gen from protos/cets"
	@echo "make bench  - every benchmark, then bench/results/summary-<date>.md (about 45 minutes)"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

protos: install
	$(PY) protos/generate.py

opensearch: install
	$(CETS) opensearch fetch

# The web page's test drives a real Chromium: Debian's package, at /usr/bin/chromium.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "Chromium is missing: install it as root (apt-get install chromium), then run make test again." >&2; \
	    exit 1; \
	  fi; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	fi

demo: opensearch
	$(CETS) demo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

unit: install
	$(PY) -m pytest tests/unit

test: opensearch browser lint
	$(PY) -m pytest

bench: opensearch
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
