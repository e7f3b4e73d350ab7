# Every install step the project needs lives here: a clean machine runs `make demo` or `make test`.
VENV := .venv
STAMP := $(VENV)/.installed
# mitmproxy 12 needs Python >= 3.12; on pyenv machines the 3.12 shim only works when selected.
PYTHON ?= $(shell for cand in "PYENV_VERSION=3.12.1 python3.12" "python3.13" "python3.12" "python3"; do \
	  exe=$$(env $$cand -c 'import sys; print(sys.executable if sys.version_info >= (3, 12) else "")' 2>/dev/null); \
	  if [ -n "$$exe" ]; then echo $$exe; break; fi; done)
BIN := $(VENV)/bin

.PHONY: demo test bench bytecode lint-examples clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no Python >= 3.12 found (mitmproxy 12 needs it)"; exit 2; }
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
