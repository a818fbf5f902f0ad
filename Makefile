# wxnotify-magic: `make demo` and `make test` work on a fresh machine (they create .venv themselves).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: demo inbox dist test bench lint venv test-venv test-old test-ipython clean

# The oldest supported stacks, each in its own venv: Colab's (IPython 7.34, ipywidgets 7.7, traitlets 5.7.1,
# ipykernel 6.17) and IPython 8 (ipykernel 6). They run the cell contract and one notebook in a real kernel, and
# on ipywidgets 7 the panel (ipywidgets 8 is .venv's).
OLD_STACKS := ipy7 ipy8
STACK_ipy7 := "ipython==7.34.0" "ipywidgets==7.7.1" "traitlets==5.7.1" "ipykernel==6.17.1" "jupyter_client==7.4.9" \
	"nbclient==0.10.4" "nbformat==5.10.4" "pyzmq==26.2.1" "tornado==6.5.1"
STACK_ipy8 := "ipython>=8.0,<9" "ipywidgets>=8,<9" "ipykernel>=6,<7" nbclient nbformat
TESTS_ipy7 := tests/test_magic.py tests/test_panel.py tests/test_notebooks.py tests/test_old_ipython.py
TESTS_ipy8 := tests/test_magic.py tests/test_notebooks.py tests/test_old_ipython.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_QUIET) --upgrade pip

# The demo's venv: the package (editable), the [inbox] extra so the inbox page renders markdown, and a kernel.
venv: $(BIN)/python
	$(BIN)/pip install $(PIP_QUIET) -e '.[inbox]' nbclient nbformat ipykernel

test-venv: $(BIN)/python
	$(BIN)/pip install $(PIP_QUIET) -e '.[test]'

# The demo keeps its messages in $(DEMO_DIR)/inbox.jsonl; `make inbox` serves them at http://127.0.0.1:$(INBOX_PORT)/.
DEMO_DIR ?= $(CURDIR)/.demo
INBOX_PORT ?= 8787

demo: venv
	mkdir -p $(DEMO_DIR)
	WXNOTIFY_DEMO_DIR=$(DEMO_DIR) IPYTHONDIR=$(DEMO_DIR)/ipython $(BIN)/python scripts/demo.py

# Installs the package with the [inbox] extra only when .venv lacks it (the test venv already has it).
$(VENV)/.inbox-ready: | $(BIN)/python
	$(BIN)/python -c 'import wxnotify_magic, markdown_it, nh3' 2>/dev/null || \
		$(BIN)/pip install $(PIP_QUIET) -e '.[inbox]'
	touch $@

inbox: $(VENV)/.inbox-ready
	$(BIN)/wxnotify inbox --port $(INBOX_PORT) --store $(DEMO_DIR)/inbox.jsonl

# A wheel in dist/ to install anywhere (pip install dist/wxnotify_magic-*.whl), e.g. uploaded to Colab.
dist: $(BIN)/python
	rm -rf dist
	$(BIN)/pip wheel $(PIP_QUIET) --no-deps --wheel-dir dist .
	@ls dist/*.whl

lint: test-venv
	$(BIN)/ruff check wxnotify_magic tests benchmarks scripts
	$(BIN)/mypy

.venv-%/installed: pyproject.toml Makefile
	rm -rf .venv-$*
	$(PYTHON) -m venv .venv-$*
	.venv-$*/bin/pip install $(PIP_QUIET) -e . $(STACK_$*) "pytest>=7" "pytest-xdist>=3.2" "requests>=2.25"
	touch $@

define run_old
	@echo "== $(1): $$(.venv-$(1)/bin/python -c 'import IPython, ipywidgets; print("IPython", IPython.__version__, "ipywidgets", ipywidgets.__version__)')"
	IPYTHONDIR=$(CURDIR)/.demo/ipython-$(1) .venv-$(1)/bin/pytest -q -p no:cacheprovider $(PARALLEL) $(TESTS_$(1))

endef

test-old: $(foreach s,$(OLD_STACKS),.venv-$(s)/installed)
	mkdir -p .demo
	$(foreach s,$(OLD_STACKS),$(call run_old,$(s)))

# The suite spends most of its time waiting on kernels, browsers and sockets: four workers on two cores. A test
# that fails is run once more (its timing depends on real kernels and a browser); one that fails twice fails.
PARALLEL ?= -n 4 --dist worksteal
RERUNS ?= --reruns 1

test: lint
	mkdir -p .demo
	IPYTHONDIR=$(CURDIR)/.demo/ipython-test $(BIN)/pytest -q -rfER $(PARALLEL) $(RERUNS)
	$(MAKE) --no-print-directory test-old

# IPython's own test suite (from the installed version's sdist), run without and with wxnotify in auto mode in its
# test shell: no test may fail only with wxnotify; it reports the wall-time ratio (goal: at most 1.15x).
IPYTHON_TEST_DEPS := "pytest-asyncio>=1.0.0" "testpath>=0.2"

test-ipython: test-venv
	$(BIN)/pip install $(PIP_QUIET) $(IPYTHON_TEST_DEPS)
	mkdir -p .demo
	$(BIN)/python scripts/ipython_suite/run.py --cache .demo/ipython-suite

bench: test-venv
	mkdir -p .demo
	IPYTHONDIR=$(CURDIR)/.demo/ipython-bench $(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(foreach s,$(OLD_STACKS),.venv-$(s)) .demo build dist *.egg-info
