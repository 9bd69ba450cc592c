# The two commands of the README:
#   make run    set up (first time) and start the service on the embedded default
#   make test   set up (first time) and run the checks and the whole suite, on SQLite
#               and on PostgreSQL (TEST_DATABASE_URL, default the local `test` database)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test lint test-sqlite test-postgres schema bench clean migrations

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: setup
	$(PY) main.py serve --host $(HOST) --port $(PORT)

test: lint test-sqlite test-postgres

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

test-sqlite: setup
	TEST_DATABASE_URL= $(PY) -m pytest -p no:cacheprovider

test-postgres: setup
	@$(PY) -c "import asyncio, asyncpg, sys; asyncio.run(asyncpg.connect('$(TEST_DATABASE_URL)', timeout=5))" \
		|| (echo "PostgreSQL is not reachable at $(TEST_DATABASE_URL): start it or set TEST_DATABASE_URL" && exit 1)
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest -p no:cacheprovider

schema: setup
	$(PY) main.py export-schema

bench: setup
	$(PY) bench/generate_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# After changing a model: write the next migration (applied at the next startup).
migrations: setup
	$(VENV)/bin/tortoise -c services.database.TORTOISE_ORM makemigrations
