# The course's commands. `make lab` to learn, `make test` to check everything (notebooks included).
VENV ?= .venv
PY := $(VENV)/bin/python
# CPU build of PyTorch by default: small, and all the course needs on a laptop. On a CUDA machine
# run e.g. `make lab TORCH_SPEC=torch` to get the CUDA build instead.
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=
# Jupyter refuses to start as root (containers, Colab-like VMs) unless told to; a normal user never needs it.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))

.PHONY: setup lab test course bench lint site figures first-run wheel-check clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

setup: $(VENV)/.installed  ## create .venv and install the course into it

lab: setup  ## open JupyterLab on the notebooks
	$(VENV)/bin/jupyter lab $(LAB_ARGS) notebooks/

lint: setup
	$(VENV)/bin/ruff check .

test: setup lint  ## ruff, then pytest (unit tests + every notebook in fast mode)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

course: setup  ## execute every notebook in full mode into build/
	@mkdir -p build
	@for nb in $(NOTEBOOKS); do \
		echo "== $$nb"; \
		(cd notebooks && ../$(VENV)/bin/papermill --cwd . -p FAST False $$(basename $$nb) ../build/$$(basename $$nb)) || exit 1; \
	done

bench: setup  ## the speed benchmarks (QUICK=1: synthetic data, under 2 minutes)
	$(PY) -m benchmarks $(if $(QUICK),--quick,)

site: setup  ## execute every notebook (full mode; FAST=1 for fast) and render build/site/
	$(PY) tools/build_site.py $(if $(FAST),--fast,)

figures: setup  ## regenerate imgs/ (the README's figures) from executed notebooks
	$(PY) tools/make_figures.py

first-run:  ## what a new learner does: clone, set up, run notebook 01, then 06 in fast mode (timed)
	bash tools/first_run.sh

wheel-check:  ## build the wheel, install it into a clean venv, import everything and run notebook 01 from it
	bash tools/wheel_check.sh

clean:
	rm -rf build .pytest_cache
