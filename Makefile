# One venv at .venv, created by `make setup`; `make test` and `make demo` call it first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements/*.txt streaming/ordering/shuffle/*.c | sha256sum | cut -c1-12)

.PHONY: setup test test-fast demo bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml $(wildcard requirements/*.txt streaming/ordering/shuffle/*.c)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check \
		-e '.[dev,demo,bench,s3,gcs,oci,azure,sftp,hf,adls,databricks,servers,lightning,composer,recipes,spark,vision,laion,video,torchdata]' > $(VENV)/pip.log 2>&1 \
		|| { grep -v '^WARNING: Location' $(VENV)/pip.log; exit 1; }
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements/composer.txt \
		>> $(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	$(PY) -c "import streaming, pytest, hypothesis, sklearn, matplotlib, boto3, oci, lightning"
	$(PY) -m compileall -q -j 0 streaming integrations > /dev/null
	$(PY) -c "import google.cloud.storage, azure.storage.blob, omegaconf, composer.trainer, pyspark"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Everything CI runs: builds the peer's venv (cached), starts the servers the tests need,
# runs the whole suite, stops the servers.
test: setup
	bash scripts/test.sh

# The suite without the tests that need the peer's venv.
test-fast: setup
	$(PY) -m pytest -q -m "not peer"

demo: setup
	$(PY) -m streaming.cli.demo $(DEMO_ARGS)

bench: setup
	$(PY) benchmarks/run.py

lint: setup
	$(VENV)/bin/ruff check streaming integrations tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
