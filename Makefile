# The README's commands. Everything installs into .venv from the package registries.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install run test lint unit clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local,aws,dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: install everything and start skyglass on embedded engines (chDB, SQLite, a local folder)
run: install
	$(BIN)/skyglass serve

## make lint: ruff, mypy and the import contracts
lint: install
	$(BIN)/ruff check layers functions stacks tests app.py
	$(BIN)/ruff format --check layers functions stacks tests app.py
	$(BIN)/mypy
	$(BIN)/lint-imports

## make test: install everything, lint, and run the whole suite
test: lint
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

clean:
	rm -rf $(VENV) .skyglass .pytest_cache .mypy_cache .ruff_cache cdk.out
