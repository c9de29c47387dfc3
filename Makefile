# bedrock-activation: two commands do all the set-up.
#   make deploy   sandbox up, the seven phases, report   (RELEASE=x.y.z FAULT=<drill>)
#   make test     the whole test suite (starts what it needs)
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RELEASE ?= 1.1.0
FAULT ?=
RESUME ?=
TIER ?= full
QUICK ?=
RUN ?=
WATCHDOG_EVERY ?= 5
WATCHDOG_PID := runs/watchdog.pid
PLAYBOOK := $(BIN)/ansible-playbook
EVIDENCE := runs/releases/$(RELEASE)/evidence

.PHONY: help setup deploy drill rollback watch watchdog-up watchdog-down bench test lint sandbox-up sandbox-down clean chromium

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

setup: $(STAMP) node_modules/.installed  ## create the virtual environment and install everything

deploy: setup watchdog-up  ## the seven phases on the sandbox: RELEASE=x.y.z [FAULT=<drill>] [RESUME=<run-id>]
	@test -f runs/releases/$(RELEASE)/manifest.json || $(BIN)/bedrock-release build --release $(RELEASE)
	@test -f $(EVIDENCE)/staging/summary.json -a -f $(EVIDENCE)/rollback-drill/drill.json \
		-a -f $(EVIDENCE)/approvals/cto.json || $(PLAYBOOK) playbooks/staging.yml -e release=$(RELEASE)
	$(BIN)/bedrock-release approvals check --release $(RELEASE) >/dev/null 2>&1 \
		|| $(BIN)/bedrock-release approvals sign --release $(RELEASE)
	$(PLAYBOOK) deploy.yml -e release=$(RELEASE) $(if $(FAULT),-e sandbox_fault=$(FAULT)) \
		$(if $(RESUME),-e resume_run=$(RESUME))

drill: setup  ## the staging rollback drill of RELEASE again (three tiers on a stand-in; rewrites the drill record)
	@test -f runs/releases/$(RELEASE)/manifest.json || $(BIN)/bedrock-release build --release $(RELEASE)
	$(PLAYBOOK) playbooks/staging.yml -e release=$(RELEASE) -e staging_redo_drill=true

rollback: setup  ## a rollback by hand: TIER=immediate|partial|full [RUN=<run-id>] (default runs/latest)
	$(PLAYBOOK) playbooks/rollback_$(TIER).yml $(if $(RUN),-e run_id=$(RUN))

watch: setup  ## post-deployment watch of runs/latest (or RUN=<run-id>): SLO gates per window, rollback on a breach
	$(PLAYBOOK) playbooks/watch.yml $(if $(RUN),-e run_id=$(RUN))

watchdog-up: $(STAMP)  ## the sandbox's watchdog timer, in the background: rolls back a deploy whose lock expired
	@mkdir -p runs
	@if test -f $(WATCHDOG_PID) && kill -0 $$(cat $(WATCHDOG_PID)) 2>/dev/null; then :; else \
		nohup $(BIN)/bedrock-release watchdog --every $(WATCHDOG_EVERY) >> runs/watchdog.log 2>&1 & \
		echo $$! > $(WATCHDOG_PID); \
		echo "watchdog: every $(WATCHDOG_EVERY) s (runs/watchdog.log; make watchdog-down stops it)"; fi

watchdog-down:  ## stop the sandbox's watchdog timer
	-@test -f $(WATCHDOG_PID) && kill $$(cat $(WATCHDOG_PID)) 2>/dev/null; rm -f $(WATCHDOG_PID)

bench: setup  ## benchmark in a private sandbox (ephemeral ports): runs/bench/results.json + table [QUICK=1]
	$(BIN)/python -m bench $(if $(QUICK),--quick)

sandbox-up: $(STAMP) watchdog-up  ## start the sandbox (idempotent) and its watchdog timer
	$(BIN)/python -m sandbox up

sandbox-down: $(STAMP) watchdog-down  ## stop the sandbox and its watchdog timer
	$(BIN)/python -m sandbox down

lint: $(STAMP)  ## ruff and ansible-lint (production profile)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint --profile production

chromium:  ## Debian chromium for the Allure report test (installed only when missing)
	@test -x /usr/bin/chromium || apt-get install -y chromium || (apt-get update -q && apt-get install -y chromium)

test: setup chromium  ## run the whole test suite
	$(BIN)/python -m pytest -n 3 --dist loadfile

clean: watchdog-down  ## stop the sandbox and remove everything written at run time
	-$(BIN)/python -m sandbox down
	rm -rf runs
