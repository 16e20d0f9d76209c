# Guanhuai (关怀) — two commands: `make run` and `make test`. Needs only Python ≥ 3.11 and make.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION ?= 0.13.9
TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
export GUANHUAI_DATA_DIR ?= $(CURDIR)/.data
export UV_PYTHON_DOWNLOADS ?= never

.PHONY: run test bench demo images compose token openapi lint sync bootstrap clean-data help

help:
	@echo "make run    - start PostgreSQL, NATS, migrations and the four services (Ctrl-C stops)"
	@echo "make test   - run every test against real embedded servers"
	@echo "make bench  - run the benchmarks in bench/ (figures go to docs/PERFORMANCE.md)"
	@echo "make demo   - a county's year end to end against a running make run"
	@echo "make images - build the container images (needs a Docker daemon)"
	@echo "make token ROLE=caseworker REGION=360702 [SUB=…] - mint a development token"
	@echo "make openapi - regenerate the committed OpenAPI snapshots"

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

bootstrap: $(if $(filter $(TOOLS)/bin/uv,$(UV)),$(TOOLS)/bin/uv,)

sync: bootstrap
	@$(UV) sync --frozen --quiet

run: sync
	$(UV) run --frozen guanhuai run

test: sync lint
	$(UV) run --frozen pytest $(PYTEST_ARGS)

lint: sync
	$(UV) run --frozen lint-imports
	$(UV) run --frozen guanhuai openapi --check

bench: sync
	$(UV) run --frozen python bench/events.py
	$(UV) run --frozen python bench/registry_import.py
	$(UV) run --frozen python bench/entitlements_batch.py
	$(UV) run --frozen python bench/relief_disbursement.py
	$(UV) run --frozen python bench/notifications.py
	$(UV) run --frozen python bench/annual_cycle.py

demo: sync
	$(UV) run --frozen guanhuai-demo run

images:
	deploy/docker/build.sh

compose:
	docker compose -f deploy/compose.yaml up --build

token: sync
	@$(UV) run --frozen guanhuai token --role "$(or $(ROLE),caseworker)" $(if $(REGION),--region "$(REGION)",) $(if $(AGENCY),--agency "$(AGENCY)",) $(if $(SCOPE),--scope "$(SCOPE)",) $(if $(SUB),--sub "$(SUB)",)

openapi: sync
	$(UV) run --frozen guanhuai openapi

clean-data:
	rm -rf .data
