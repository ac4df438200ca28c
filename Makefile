# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
ifeq ($(OS),Windows_NT)
BIN := $(VENV)/Scripts
else
BIN := $(VENV)/bin
endif
PY := $(BIN)/python

.PHONY: demo test lint bench rehearse clean

$(BIN)/.installed: pyproject.toml
	@echo "Setting up $(VENV) (once)..."
	$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip > $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@$(PY) -m pip install --quiet -e '.[dev]' >> $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@touch $@

demo: $(BIN)/.installed
	$(PY) -m runner.demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The browser tests need node_modules (npm ci) and Chromium (/usr/bin/chromium; .ci/run installs it).
test: lint node_modules/.package-lock.json
	$(PY) -m pytest -q -n 4 --dist worksteal

bench: $(BIN)/.installed node_modules/.package-lock.json
	$(PY) -m benchmarks.cold_swap
	$(PY) -m benchmarks.swap_latency
	$(PY) -m benchmarks.safe_swap
	$(PY) -m benchmarks.canary
	$(PY) -m benchmarks.canary_judge
	$(PY) -m benchmarks.canary_end_to_end
	$(PY) -m benchmarks.action_start

# The results tab's pictures in README.md and overview.md, taken by the browser test.
.PHONY: pictures
pictures: $(BIN)/.installed node_modules/.package-lock.json
	$(PY) -m pytest -q tests/test_results_tab.py
	cp build/screenshots/tab-*.jpg images/

rehearse: $(BIN)/.installed
	$(PY) -m runner.rehearse

clean:
	rm -rf $(VENV) build dist *.egg-info

# The extension: build/vsix/*.vsix, packaged by the tfx-cli pinned in package-lock.json.
.PHONY: vsix
vsix: $(BIN)/.installed node_modules/.package-lock.json
	$(PY) tools/build_vsix.py

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
