# wxnotify-magic: `make demo` and `make test` work on a fresh machine (they create .venv themselves).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: demo test bench lint venv test-venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_QUIET) --upgrade pip

venv: $(BIN)/python
	$(BIN)/pip install $(PIP_QUIET) -e . nbclient nbformat ipykernel

test-venv: $(BIN)/python
	$(BIN)/pip install $(PIP_QUIET) -e '.[test]'

demo: venv
	mkdir -p .demo
	IPYTHONDIR=$(CURDIR)/.demo/ipython $(BIN)/python scripts/demo.py

lint: test-venv
	$(BIN)/ruff check wxnotify_magic tests benchmarks scripts
	$(BIN)/mypy

test: lint
	mkdir -p .demo
	IPYTHONDIR=$(CURDIR)/.demo/ipython-test $(BIN)/pytest -q

bench: test-venv
	mkdir -p .demo
	IPYTHONDIR=$(CURDIR)/.demo/ipython-bench $(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .demo build *.egg-info
