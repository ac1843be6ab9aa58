# ecomlab — two commands do all the set-up on a fresh machine:
#   make lab    create .venv, install the workbook, open JupyterLab on notebooks/ (embedded stores)
#   make test   create/reuse .venv and run lint, types, unit, integration, real-backend and nbval
SHELL  := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8888
PYTEST_ARGS ?=

.PHONY: lab test lint types unit notebooks nbval bench book browser chromium clean env

env: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@echo "== setting up $(VENV) (the first time takes about 2 minutes; later runs reuse it)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --progress-bar on -c constraints.txt -e ".[dev]" \
	    | grep --line-buffered -E "^(Collecting|Successfully|ERROR)"; exit $${PIPESTATUS[0]}
	@touch $(STAMP)
	@echo "== $(VENV) ready: run the CLI as $(BIN)/ecomlab, or 'source $(BIN)/activate' first"

# JupyterLab refuses root unless told; browsers only open where there is a display.
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root,) \
             $(if $(or $(CI),$(if $(DISPLAY),,1)),--no-browser,)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks --port=$(PORT) --ip=127.0.0.1 $(LAB_FLAGS)

lint: $(STAMP)
	$(BIN)/ruff check ecomlab tests benchmarks

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests -m "not browser" --durations=10 $(PYTEST_ARGS)

nbval: $(STAMP)
	$(BIN)/pytest --nbval notebooks --nbval-sanitize-with notebooks/sanitize.cfg \
	    --nbval-cell-timeout=300 \
	    $(PYTEST_ARGS)

test: lint types unit nbval

# Re-execute every notebook in place from a clean kernel (commit the result). The widgets'
# state goes into the notebook's metadata, so a reader who opens it unexecuted sees the last
# control panel and its output. nbclient can miss a cell's reply when it writes to the kernel
# mid-cell (jupyter/nbclient#312: the kernel is idle, the client waits); the explorers avoid
# that, and should a cell still stall it ends at the 300 s cell timeout and the notebook is run
# once more, saying so.
notebooks: $(STAMP)
	@for nb in notebooks/*.ipynb; do \
	    echo "== $$nb"; \
	    $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	        --ExecutePreprocessor.timeout=300 --ExecutePreprocessor.store_widget_state=True \
	        $$nb || exit 1; \
	done

# Every benchmarks/bench_*.py, then one table of figures, anchors, ratios and targets
# (build/bench/table.md and table.json).
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# The static widget manager for ipywidgets 8 (the one nb-offline-convert ships is for 7).
HTML_MANAGER := 1.0.15
VENDOR       := build/vendor
$(VENDOR)/html-manager/dist/embed-amd.js:
	@command -v npm >/dev/null || { echo "== the book needs npm to fetch @jupyter-widgets/html-manager@$(HTML_MANAGER) once: apt-get install -y npm"; exit 1; }
	@echo "== fetching @jupyter-widgets/html-manager@$(HTML_MANAGER) into $(VENDOR)/ (once)"
	@mkdir -p $(VENDOR) && rm -rf $(VENDOR)/html-manager $(VENDOR)/package
	cd $(VENDOR) && npm pack --silent @jupyter-widgets/html-manager@$(HTML_MANAGER) >/dev/null \
	    && tar xzf jupyter-widgets-html-manager-$(HTML_MANAGER).tgz && mv package html-manager

# The notebooks as committed -> build/book/ (index, claims, one page each; works offline).
BOOK_ARGS ?=
book: $(STAMP) $(VENDOR)/html-manager/dist/embed-amd.js
	$(BIN)/python -m ecomlab.book $(BOOK_ARGS)

# Debian's Chromium for the browser tests (Playwright cannot download its own browser here).
chromium:
	@command -v chromium >/dev/null || { \
	    if [ "$$(id -u)" = 0 ]; then echo "== installing Debian's chromium for the browser tests (about a minute)"; \
	        (DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -qq \
	            && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }) \
	        || echo "== could not install chromium: the browser tests will be skipped"; \
	    else echo "== no chromium (sudo apt-get install -y chromium): the browser tests will be skipped"; fi; }

# The book and every notebook in a real browser (JupyterLab restart-and-run-all); screenshots
# in build/screenshots/. CI runs it after make test; one notebook: make browser PYTEST_ARGS="-k 08".
browser: book chromium
	$(BIN)/pytest tests/browser -m browser -p no:cacheprovider $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
