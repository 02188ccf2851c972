# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both create .venv if it is absent and install sadl into it (dev extras for tests).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
STAMP := $(VENV)/.sadl-installed
PRESET ?= tiny

.PHONY: install test demo check-sync nbtest pytest readme figures docs docs-quarto docs-check clean

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

# README.md is made from nbs/index.ipynb. nbdev_readme needs quarto (quarto render), and quarto-cli cannot
# be installed without reaching GitHub (its build downloads the binary), so we keep our own script.
readme: install
	$(BIN)/python tools/make_readme.py

# Re-run notebooks and store their outputs (figures, show_doc tables) in the committed files,
# skipping #|slow/#|cuda/#|notest cells as nbdev_test does; seeded PNGs at 64 dpi, 128 colours.
# One notebook: `make figures NB=nbs/02_views.ipynb`. Not part of `make test` (it rewrites notebooks).
NB ?=
figures: install
	$(BIN)/python tools/run_notebooks.py $(NB)

# Offline check of what `nbdev_docs` does before quarto: runs nbdev's docs processors (show_doc,
# the cells they need) on every notebook and writes _proc/; names each failing cell.
docs-check: install
	$(BIN)/python tools/check_docs.py

# The docs site in _site/, offline (tools/make_docs.py): nbdev's processing of every notebook (docs-check,
# _proc/), one Markdown page per notebook, mkdocs-material with KaTeX from the npm registry (cached in
# _mkdocs/), `mkdocs build --strict`, then a check that every image, stylesheet, script and internal link
# of _site/ resolves and that no page loads anything from the internet. Open _site/index.html, or
# `python -m http.server -d _site` (search needs a server). Part of `make test`.
docs: docs-check
	$(BIN)/python tools/make_docs.py pages
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet -f _mkdocs/mkdocs.yml
	$(BIN)/python tools/make_docs.py check
	@echo "docs site in _site/ (open _site/index.html, or: python -m http.server -d _site)"

# nbdev's own site in _docs/ (nbdev_docs renders the processed notebooks with quarto), for machines that
# have quarto. quarto comes from the `quarto-cli` package, whose build downloads the quarto binary from
# GitHub: where that host cannot be reached the install fails and this target stops. Never call nbdev_docs
# without quarto on PATH: it then runs `sudo` and `pip install -e .[dev]` with whatever pip is first on PATH.
# Not part of `make test`/CI; `make docs` is the offline build.
QUARTO_CLI ?= quarto-cli>=1.4
docs-quarto: install
	$(BIN)/python -c "import quarto_cli" 2>/dev/null || $(BIN)/python -m pip install -q "$(QUARTO_CLI)" \
	  || { echo "make docs-quarto: could not install $(QUARTO_CLI) (its build downloads the quarto binary from GitHub); use make docs"; exit 1; }
	export PATH="$$($(BIN)/python -c 'import quarto_cli, os; print(os.path.dirname(quarto_cli.__file__))')/bin:$(abspath $(BIN)):$$PATH"; \
	command -v quarto >/dev/null || { echo "make docs-quarto: quarto not found after installing $(QUARTO_CLI)"; exit 1; }; \
	quarto --version; $(BIN)/nbdev_docs
	@echo "nbdev's docs site in _docs/ (open _docs/index.html)"

# Tests run with TMPDIR set to a fresh folder that is removed afterwards: notebooks and tests make
# temporary folders (checkpoints, backbones, synthetic data: several GB per run) and a test run
# must not leave them behind in /tmp, also when it fails (`cmd || rc=$?`: the recipe shell runs with -e).
nbtest: install
	d=$$(mktemp -d -t sadl-test.XXXXXX); rc=0; TMPDIR=$$d $(BIN)/nbdev_test --n_workers 2 --timing || rc=$$?; rm -rf $$d; exit $$rc

pytest: install
	d=$$(mktemp -d -t sadl-test.XXXXXX); rc=0; TMPDIR=$$d $(BIN)/python -m pytest -q --basetemp=$$d/pytest tests || rc=$$?; rm -rf $$d; exit $$rc

test: check-sync nbtest pytest docs

demo: install
	$(BIN)/sadl_reproduce --preset $(PRESET) --out runs/$(PRESET)

clean:
	rm -rf runs _proc _docs _site _mkdocs
