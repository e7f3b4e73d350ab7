# Every install step the project needs lives here: a clean machine runs `make demo` or `make test`.
VENV := .venv
STAMP := $(VENV)/.installed
# mitmproxy 12 needs Python >= 3.12: the first of python3.14, python3.13, python3.12, python3 on
# PATH that is new enough, else any pyenv version that is (by its own path: a pyenv shim only works
# for the selected version). `make PYTHON=/path/to/python3.12 ...` chooses one.
PYTHON ?= $(shell \
	new_enough() { "$$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; }; \
	for cand in python3.14 python3.13 python3.12 python3; do \
	  exe=$$(command -v $$cand 2>/dev/null) && new_enough "$$exe" \
	    && "$$exe" -c 'import sys; print(sys.executable)' 2>/dev/null && exit 0; \
	done; \
	root=$$(pyenv root 2>/dev/null || echo "$${PYENV_ROOT:-$$HOME/.pyenv}"); \
	for exe in $$(ls -d "$$root"/versions/*/bin/python3 2>/dev/null | sort -rV); do \
	  new_enough "$$exe" && echo "$$exe" && exit 0; \
	done)
define NO_PYTHON
error: no Python >= 3.12 found (mitmproxy 12 needs it). Tried python3.14, python3.13, python3.12 and
python3 on PATH, and every pyenv version. Install one, then run make again:
  Debian/Ubuntu:  sudo apt-get install python3.12 python3.12-venv   (or python3.13 python3.13-venv)
  Fedora:         sudo dnf install python3.12
  macOS:          brew install python@3.12
  pyenv:          pyenv install 3.12
or name one: make PYTHON=/path/to/python3.12 test
endef
export NO_PYTHON
BIN := $(VENV)/bin

.PHONY: demo test bench bytecode lint-examples clean python

# The Python the virtualenv is made with (what `make` found, or the error saying what to install).
python:
	@test -n "$(PYTHON)" || { echo "$$NO_PYTHON" >&2; exit 2; }
	@echo "$(PYTHON)"

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "$$NO_PYTHON" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# One resolver run, so mitmproxy's pins and everything else form one consistent set.
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	$(MAKE) --no-print-directory bytecode
	touch $(STAMP)

$(VENV): $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP)
	bash tests/services.sh
	$(BIN)/python -m pytest -q -p no:cacheprovider

# An editable install compiles no bytecode (a wheel's does), and with PYTHONDONTWRITEBYTECODE set
# nothing ever writes it: every command would compile the package from source first (~130 ms).
bytecode:
	$(BIN)/python -m compileall -q proxy_addon

bench: $(STAMP) bytecode
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

lint-examples: $(STAMP)
	$(BIN)/webex-xml-lint check examples/

clean:
	rm -rf $(VENV) build dist
