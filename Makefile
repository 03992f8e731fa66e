# forecast-nb: `make demo` and `make test` are all the set-up there is.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export MPLBACKEND ?= Agg
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONWARNINGS ?= ignore::DeprecationWarning

.PHONY: install demo test check-sync lint nbtest pytest lab readme clean

$(STAMP): setup.py settings.ini constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[all,dev]" 2>&1 \
	  | { grep -v "is ignored: it is neither a file nor a directory" || true; }
	$(BIN)/python -m ipykernel install --sys-prefix --name forecast-nb --display-name "forecast-nb (.venv)" >/dev/null
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/forecast-nb demo

# nbdev_export and nbdev_clean must not change the tree: notebooks and modules are committed in sync.
check-sync: install
	@before="$$(git status --porcelain=v1 -uall; git diff | sha1sum)"; \
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean && $(BIN)/nbdev_clean --fname forecast_nb/workflows; \
	after="$$(git status --porcelain=v1 -uall; git diff | sha1sum)"; \
	if [ "$$before" != "$$after" ]; then git status --short; \
	  echo "nbdev_export or nbdev_clean changed the tree: run them and commit the result"; exit 1; fi

# ruff (settings in pyproject.toml): the notebooks, tests and benchmarks are formatted and lint-free at 120 columns.
LINTED := nbs forecast_nb/workflows tests benchmarks
lint: install
	$(BIN)/ruff format --check --quiet $(LINTED) || { echo "run: $(BIN)/ruff format $(LINTED)"; exit 1; }
	$(BIN)/ruff check --quiet $(LINTED)
	$(BIN)/ruff check --quiet --select F forecast_nb/*.py forecast_nb/models/*.py   # the exported modules: no undefined or unused name

nbtest: install
	$(BIN)/nbdev_test --flags slow --n_workers 2 --timing
	$(BIN)/nbdev_test --path forecast_nb/workflows --n_workers 1 --skip_file_glob monitor.ipynb   # the workflow notebooks, as they ship (monitor needs a served model: tests/test_monitor.py runs it)

pytest: install
	$(BIN)/pytest -q -n 2 --dist loadfile tests

test: check-sync lint nbtest pytest

lab: install
	$(BIN)/jupyter lab nbs/

# README.md is nbs/index.ipynb as plain Markdown (quarto, and so nbdev_readme, is not available here).
readme: install
	$(BIN)/jupyter nbconvert --to markdown --log-level WARN --RegexRemovePreprocessor.patterns='["^#\| hide"]' nbs/index.ipynb --output-dir . --output README
	sed -i -e '/^<!-- WARNING/,/^-->/d' README.md

clean:
	rm -rf $(VENV) *.egg-info _proc _docs .pytest_cache
