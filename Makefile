# oneping: `make run` serves the app with a worker and beat; `make test` runs the suite.
# Both create .venv on first use and reinstall only when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install run test lint format bench clean

help:
	@echo "make run     start web + worker + beat at http://127.0.0.1:$(PORT)"
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

# Development mode: DEBUG on unless the environment says otherwise.
run: export DEBUG ?= true
run: export PORT := $(PORT)
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	@echo ""
	@echo "  oneping is starting at http://127.0.0.1:$(PORT)  (Ctrl-C stops web, worker and beat)"
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

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
	$(BIN)/python -m pip install --quiet --disable-pip-version-check gunicorn \
		$(if $(filter 1 true yes,$(PROFILE)),py-spy)
	$(BIN)/python -m bench.run $(if $(filter 1 true yes,$(QUICK)),--quick) \
		$(if $(filter 1 true yes,$(PROFILE)),--profile) $(BENCH_ARGS)
