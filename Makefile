# afterflow — `make run` serves the app, `make test` runs the suite; each sets itself up from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ASSETS := web/static/vendor/.copied
CATALOG := web/translations/zh/LC_MESSAGES/messages.mo
#: Where `make run` serves: `make run HOST=0.0.0.0 PORT=8080`.
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test setup lint bench bench-detail demo clean

setup: $(STAMP) $(ASSETS) $(CATALOG)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "afterflow needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(ASSETS): package.json scripts/copy-assets.mjs $(STAMP)
	npm install --no-audit --no-fund
	$(BIN)/python -m processes.documents.font_faces web/static/vendor/fonts
	touch $(ASSETS)

$(CATALOG): web/translations/zh/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d web/translations -D messages

run: setup
	$(BIN)/afterflow upgrade
	$(BIN)/afterflow setup-demo
	$(BIN)/afterflow run --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest -q -n auto --dist loadfile

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Every performance target against its reference, one TARGET line each (under 10 minutes).
bench: setup
	$(BIN)/python -m bench.targets

# The detailed benches behind docs/benchmarks.md (each prints its own tables).
bench-detail: setup
	$(BIN)/python -m bench.engine_throughput
	$(BIN)/python -m bench.inbox
	$(BIN)/python -m bench.cases
	$(BIN)/python -m bench.login
	$(BIN)/python -m bench.operations
	$(BIN)/python -m bench.documents
	$(BIN)/python -m bench.notifications
	$(BIN)/python -m bench.sqlite_writers

clean:
	rm -rf $(VENV) node_modules web/static/vendor instance .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
