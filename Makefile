# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both create .venv if it is absent and install sadl into it (dev extras for tests).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
STAMP := $(VENV)/.sadl-installed
PRESET ?= tiny

.PHONY: install test demo check-sync nbtest pytest readme clean

# A fresh venv lets pip resolve the registry's newest torch + torchvision pair; the
# machine's CPU-only torch 2.13 wheel has no torchvision that imports with it.
$(STAMP): settings.ini setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -e ".[dev]"
	$(BIN)/python -c "import torch, torchvision, fastai, nbdev; print('torch', torch.__version__, '| torchvision', torchvision.__version__, '| fastai', fastai.__version__, '| nbdev', nbdev.__version__)"
	touch $@

install: $(STAMP)

# CI fails if nbdev_export or nbdev_clean would change a file (notebooks are the source).
check-sync: install
	@before=$$(git status --porcelain -- sadl nbs); \
	$(BIN)/nbdev_export; $(BIN)/nbdev_clean; \
	after=$$(git status --porcelain -- sadl nbs); \
	if [ "$$before" != "$$after" ]; then echo "nbdev_export/nbdev_clean changed files: run them and commit"; git status --short -- sadl nbs; exit 1; fi; \
	echo "notebooks and library agree"; \
	$(BIN)/python tools/make_readme.py --check

# README.md is made from nbs/index.ipynb (nbdev_readme needs quarto, which we do not install).
readme: install
	$(BIN)/python tools/make_readme.py

nbtest: install
	$(BIN)/nbdev_test --n_workers 2 --timing

pytest: install
	$(BIN)/python -m pytest -q tests

test: check-sync nbtest pytest

demo: install
	$(BIN)/sadl_reproduce --preset $(PRESET) --out runs/$(PRESET)

clean:
	rm -rf runs _proc _docs
