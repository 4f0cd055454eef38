# The course's commands. `make lab` to learn, `make test` to check everything (notebooks included).
# Every install takes its exact versions from requirements-lock.txt (a pip constraint); `make lock` writes it.
VENV ?= .venv
PY := $(VENV)/bin/python
LOCK := requirements-lock.txt
# PyTorch comes from PyPI by default: the CUDA build on Linux (several GB), the CPU/MPS build on macOS, the CPU
# build on Windows. TORCH=cpu takes PyTorch's own CPU wheel on Linux instead (no CUDA download); any of PyTorch's
# wheel indexes works the same way (TORCH=cu126, TORCH=rocm6.4, ...). Either way the version is the lock's.
TORCH ?=
# (An extra index: PyTorch's 2.13.0+cpu outranks PyPI's 2.13.0, and torch's own needs still come from PyPI.)
TORCH_INDEX := $(if $(TORCH),--extra-index-url https://download.pytorch.org/whl/$(TORCH),)
# Every core; tests/conftest.py schedules one test file per worker at a time (the notebook runs with the site).
PYTEST_ARGS ?= -n auto
# Jupyter refuses to start as root (containers, Colab-like VMs) unless told to; a normal user never needs it.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
LATEST_VENV ?= .venv-latest

.PHONY: setup setup-lab lab test test-latest lock course bench lint site figures first-run wheel-check clean

# One recipe for both installs: .[lab] for a learner (`make lab`), .[dev] for the tests (`make setup`, `make test`).
# torch goes first, so that TORCH's index serves it; then the course, every package held at the lock's version;
# then a check that the venv holds exactly the lock.
$(VENV)/.installed-%: pyproject.toml $(LOCK)
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -c $(LOCK) torch $(TORCH_INDEX)
	$(PY) -m pip install --quiet -c $(LOCK) -e ".[$*]"
	$(PY) tools/lock.py verify
	@touch $@ $(if $(filter dev,$*),$(VENV)/.installed-lab,)

setup: $(VENV)/.installed-dev  ## create .venv with everything the tests need (.[dev]), at the lock's versions

setup-lab: $(VENV)/.installed-lab  ## create .venv with what a learner needs (.[lab]), at the lock's versions

lab: setup-lab  ## open JupyterLab on the notebooks
	$(VENV)/bin/jupyter lab $(LAB_ARGS) notebooks/

lint: setup
	$(VENV)/bin/ruff check .

lock: setup  ## re-resolve requirements-lock.txt with uv (UPGRADE=1: move to the newest releases); restamps README, Colab cells
	$(PY) tools/lock.py compile $(if $(UPGRADE),--upgrade,)

# Not part of CI (which must stay deterministic): what the newest releases would break, before `make lock UPGRADE=1`.
# torch stays at the lock's release (TORCH picks its build as above); LATEST_TORCH=1 takes the newest torch too.
test-latest:  ## a separate venv with the newest releases: unit tests + fast notebooks, then how they differ from the lock
	rm -rf $(LATEST_VENV)
	python3 -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet $(if $(LATEST_TORCH),torch,"torch==$$(sed -n 's/^torch==\([^ ;]*\).*/\1/p' $(LOCK) | head -n 1)") $(TORCH_INDEX)
	$(LATEST_VENV)/bin/python -m pip install --quiet -e ".[dev]"
	$(LATEST_VENV)/bin/pytest $(PYTEST_ARGS) --deselect tests/test_colab_sim.py -p no:cacheprovider; \
		status=$$?; $(LATEST_VENV)/bin/python tools/lock.py diff; exit $$status

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
