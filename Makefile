# IceCash: the two set-up commands of the README, and their helpers.
# Both create .venv and install what they need on a fresh machine (Debian packages too, when
# run as root and something is missing).

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo test venv bench clean check-python browser

CHROMIUM ?= /usr/bin/chromium

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
	  || { echo "IceCash needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) --version 2>&1). Set PYTHON=python3.11 (or newer)."; exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null \
	  || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	         apt-get update -qq && apt-get install -y -qq python3-venv; \
	       else echo "Python's venv module is missing: install python3-venv (Debian/Ubuntu)."; exit 1; fi; }

$(STAMP): pyproject.toml | check-python
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

## make demo: the whole suite on embedded defaults, with demo data and demo users
demo: $(STAMP)
	$(VENV)/bin/icecash demo

## browser: Debian's chromium for the browser tests (Playwright drives it; nothing is downloaded)
browser:
	@test -x $(CHROMIUM) \
	  || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	         apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; \
	       else echo "The browser tests need chromium at $(CHROMIUM): install Debian's chromium package (or set CHROMIUM=)."; exit 1; fi; }

## make test: every test
test: $(STAMP) browser
	ICECASH_CHROMIUM=$(CHROMIUM) $(PY) -m pytest -q

## make bench: the benchmarks (not part of the tests); each prints its figures
bench: $(STAMP) browser
	$(PY) bench/till_sale.py
	$(PY) bench/price_import.py
	ICECASH_CHROMIUM=$(CHROMIUM) $(PY) bench/ui_scan.py
	$(PY) bench/printing.py
	$(PY) bench/printing_service.py
	$(PY) bench/server_ingest.py
	$(PY) bench/backlog.py
	$(PY) bench/server_reports.py
	$(PY) bench/promotions.py
	$(PY) bench/billing.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .hypothesis
