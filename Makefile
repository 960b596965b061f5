# The README's commands. Everything installs into .venv from the package registries.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install run test lint unit clean bench bench-smoke

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local,aws,cdk,dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: install everything and start skyglass on embedded engines (chDB, SQLite, a local folder)
run: install
	$(BIN)/skyglass serve

## make lint: ruff, mypy and the import contracts
lint: install
	$(BIN)/ruff check layers functions stacks tests bench app.py
	$(BIN)/ruff format --check layers functions stacks tests bench app.py
	$(BIN)/mypy
	$(BIN)/lint-imports

## make test: install everything, lint, and run the whole suite
test: lint
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

## make bench: every benchmark at full size (appends to docs/benchmarks.md; ~25 min, installs Phoenix
## into bench/.venv-phoenix on first use). Run it on a quiet machine: results record the load average.
bench: install
	$(BIN)/python -m bench.coldstart
	$(BIN)/python -m bench.processing --spans 200000 --batch-messages 100,10,0
	$(BIN)/python -m bench.query --traces 100000 --layout
	$(BIN)/python -m bench.ingest --duration 60 --senders 4 --peers skyglass,phoenix --profile
	$(BIN)/python -m bench.ingest --duration 60 --senders 4 --peers skyglass --rate 3000

## make bench-smoke: every benchmark on a tiny load (the same run `make test` does)
bench-smoke: install
	$(BIN)/python -m pytest -q tests/bench

clean:
	rm -rf $(VENV) .skyglass .pytest_cache .mypy_cache .ruff_cache cdk.out

# ---- AWS: Lambda layers, CDK synth and deploy (docs/deploy.md) -------------------------------
# The layers' wheels must match the functions' runtime (stacks/constructs/runtime.py; a test checks).
LAMBDA_PYTHON ?= 3.13
LAYER_DIR     := build/layers/deps
INGEST_LAYER_DIR := build/layers/ingest
CDK_STAMP     := $(VENV)/.cdk-stamp
CLI_STAMP     := node_modules/.package-lock.json
# The CDK CLI from package.json, with our venv's python3 first on PATH (cdk.json runs `python3 app.py`).
CDK           := PATH="$(CURDIR)/$(BIN):$$PATH" CDK_DISABLE_CLI_TELEMETRY=true node_modules/.bin/cdk
CDK_FLAGS     ?=
DEPLOY_FLAGS  ?= --require-approval broadening
DEPLOY_STACKS ?= --all

.PHONY: layers synth deploy

$(CDK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[cdk]'
	touch $@

$(CLI_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund

# $(call build_layer,<full|ingest>,<folder>): the layer's pinned closure (stacks/layer_requirements.py)
# as manylinux aarch64 wheels from PyPI (no Docker), without resolving anything further.
define build_layer
	rm -rf $(2) && mkdir -p $(2)
	$(BIN)/python -m stacks.layer_requirements $(1) --python $(LAMBDA_PYTHON) > $(2).requirements.txt
	$(BIN)/python -m pip install --quiet --no-compile --no-deps --only-binary=:all: --implementation cp \
		--platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 \
		--python-version $(LAMBDA_PYTHON) --target $(2)/python -r $(2).requirements.txt
	rm -rf $(2)/python/bin
	echo $(LAMBDA_PYTHON) > $(2)/.python-version
endef

## make layers: the Lambda dependency layers for arm64 from PyPI wheels only (no Docker): the full
## one for every function but ingest, and the lean one for ingest
layers: $(LAYER_DIR)/.python-version $(INGEST_LAYER_DIR)/.python-version

$(LAYER_DIR)/.python-version: pyproject.toml stacks/layer_requirements.py $(STAMP)
	$(call build_layer,full,$(LAYER_DIR))

$(INGEST_LAYER_DIR)/.python-version: pyproject.toml stacks/layer_requirements.py $(STAMP)
	$(call build_layer,ingest,$(INGEST_LAYER_DIR))

## make synth: synthesize every stack into cdk.out, offline (context: CDK_FLAGS='-c skyglass:stage=dev')
synth: $(CDK_STAMP) $(CLI_STAMP)
	$(CDK) synth --quiet --no-notices $(CDK_FLAGS)

## make deploy: build the layer, bootstrap the account/region (idempotent), deploy every stack
## (or only DEPLOY_STACKS='skyglass-prod-data'; context: CDK_FLAGS='-c skyglass:clickhouse_url=…')
deploy: layers $(CDK_STAMP) $(CLI_STAMP)
	$(CDK) bootstrap --no-notices $(CDK_FLAGS)
	$(CDK) deploy $(DEPLOY_STACKS) --no-notices -c skyglass:strict=true $(DEPLOY_FLAGS) \
		--outputs-file build/cdk-outputs.json $(CDK_FLAGS)
