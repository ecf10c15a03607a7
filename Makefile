# oneping: `make run` serves the app (gunicorn) with a worker and beat; `make dev` the same
# with Django's autoreloading development server; `make test` runs the suite.
# Both create .venv on first use and reinstall only when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install run dev test lint format bench clean

help:
	@echo "make run     start web (gunicorn) + worker + beat at http://127.0.0.1:$(PORT)"
	@echo "make dev     the same with runserver, reloading on code changes"
	@echo "make test    run the test suite (DATABASE_URL/CELERY_BROKER_URL pick PostgreSQL/Redis)"
	@echo "make lint    ruff check + ruff format --check"
	@echo "make format  apply ruff's fixes and formatting"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "oneping needs Python 3.11 or newer (set PYTHON=python3.x)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# DEBUG on (development secrets) unless the environment says otherwise; served by gunicorn
# as in production (Procfile). Static files are collected for WhiteNoise (DEBUG off serves
# the compressed, hashed copies only).
run: export DEBUG ?= true
run: export PORT := $(PORT)
run: $(STAMP)
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py migrate --noinput
	@echo ""
	@echo "  oneping is starting at http://127.0.0.1:$(PORT)  (Ctrl-C stops web, worker and beat)"
	@echo ""
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start

# For editing code: runserver reloads on every change (Procfile.dev). Not for load.
dev: export DEBUG ?= true
dev: export PORT := $(PORT)
dev: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho -f Procfile.dev start

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache

# Load and throughput harness (bench/README.md): its own database, Redis db index and ports
# on 127.0.0.1, torn down at the end. QUICK=1: everything at small scale in under 3 minutes;
# PROFILE=1: py-spy profiles of the web and worker; BENCH_ARGS: e.g. --only send,inbound.
bench: $(STAMP)
	$(if $(filter 1 true yes,$(PROFILE)),$(BIN)/python -m pip install --quiet --disable-pip-version-check py-spy)
	$(BIN)/python -m bench.run $(if $(filter 1 true yes,$(QUICK)),--quick) \
		$(if $(filter 1 true yes,$(PROFILE)),--profile) $(BENCH_ARGS)
