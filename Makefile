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

.PHONY: help setup deploy test lint sandbox-up sandbox-down clean chromium

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

sandbox-up: $(STAMP)  ## start the sandbox (idempotent)
	$(BIN)/python -m sandbox up

sandbox-down: $(STAMP)  ## stop the sandbox
	$(BIN)/python -m sandbox down

lint: $(STAMP)  ## ruff and ansible-lint (production profile)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

chromium:  ## Debian chromium for the Allure report test (installed only when missing)
	@test -x /usr/bin/chromium || apt-get install -y chromium

test: setup chromium  ## run the whole test suite
	$(BIN)/python -m pytest

clean:  ## stop the sandbox and remove everything written at run time
	-$(BIN)/python -m sandbox down
	rm -rf runs
