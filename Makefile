# SatuAtap: two commands on a fresh machine with Python 3.11+ and make.
#   make up    install, start the embedded PostgreSQL, migrate, load the demo, serve on :8000
#   make test  install and run the whole test suite
PYTHON ?= python3
VENV   := .venv
STAMP  := $(VENV)/.installed

.PHONY: up test install lint format clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(VENV)/bin/mpp up

test: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The container image (deploy/Dockerfile) built and served without a registry or daemon:
# root, buildah and debootstrap needed; a few minutes the first time (deploy/image-smoke.sh).
.PHONY: image-smoke
image-smoke: $(STAMP)
	deploy/image-smoke.sh
