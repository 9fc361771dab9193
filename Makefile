# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: run test lint synth bench clean

$(STAMP): requirements.txt requirements-dev.txt lambdas/pyproject.toml client/pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("sellertoken needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(STAMP)
	$(PY) -m devstack $(RUN_ARGS)

test: $(STAMP)
	scripts/ensure-chromium
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

synth: $(STAMP)
	CDK_OUTDIR=cdk.out $(PY) app.py

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) cdk.out .devstack .pytest_cache .ruff_cache
