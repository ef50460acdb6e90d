# IceCash: the two set-up commands of the README, and their helpers.
# Both create .venv and install what they need on a fresh machine.

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo test venv bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

## make demo: the whole suite on embedded defaults, with demo data and demo users
demo: $(STAMP)
	$(VENV)/bin/icecash demo

## make test: every test
test: $(STAMP)
	$(PY) -m pytest -q

## make bench: the benchmarks (not part of the tests)
bench: $(STAMP)
	$(PY) bench/till_sale.py
	$(PY) bench/price_import.py

clean:
	rm -rf $(VENV) var build *.egg-info src/*.egg-info .pytest_cache .hypothesis
