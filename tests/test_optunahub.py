"""SkoptSampler as an OptunaHub package: one source, the registry's own checks, its tests run alone.

The sampler's code lives once, in package/samplers/skopt_sampler/ (the optunahub-registry's layout). The course
imports it as tutorial_utils.optunahub_skopt (pyproject.toml's package-dir); optunahub loads the same
folder. The registry's CI runs pre-commit (ruff, ruff format, mypy, mdformat) with the settings of its
pyproject.toml and .pre-commit-config.yaml; package/pyproject.toml copies those settings, and the tests
below run each tool with them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import optuna
import pytest
import yaml

from conftest import REPO
from tutorial_utils.samplers import SkoptSampler

optunahub = pytest.importorskip("optunahub", reason="optunahub is in the dev extra: `make setup` installs it")

REGISTRY_ROOT = REPO / "package"
PACKAGE = "samplers/skopt_sampler"
FOLDER = REGISTRY_ROOT / PACKAGE
BIN = Path(sys.executable).parent
SKOPT_KWARGS = {"n_initial_points": 5, "base_estimator": "GP", "acq_func": "EI"}


def _tool(name: str, *args: str) -> subprocess.CompletedProcess:
    """Run a check from package/, as the registry's pre-commit runs it from the registry's root."""
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} is in the dev extra: `make setup` installs it")
    return subprocess.run([str(path), *args], cwd=REGISTRY_ROOT, capture_output=True, text=True, timeout=300)


def _quadratic(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    y = trial.suggest_float("y", -5.0, 5.0)
    return (x - 2.0) ** 2 + (y + 1.0) ** 2


def _run(sampler: optuna.samplers.BaseSampler, n_trials: int) -> optuna.Study:
    study = optuna.create_study(sampler=sampler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(_quadratic, n_trials=n_trials)
    return study


# ------------------------------------------------------------------------------------ one source


def test_the_course_imports_the_package_folder_itself():
    import tutorial_utils.optunahub_skopt as hub
    import tutorial_utils.samplers as samplers

    assert Path(hub.__file__).resolve() == (FOLDER / "__init__.py").resolve()
    assert samplers.SkoptSampler is hub.SkoptSampler
    assert set(samplers.__all__) == set(hub.__all__)
    assert not (REPO / "tools" / "make_optunahub_package.py").exists()  # no generated copy any more
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert pyproject["package-dir"] == {"tutorial_utils.optunahub_skopt": "package/samplers/skopt_sampler"}


def test_package_settings_are_the_registrys():
    """package/pyproject.toml holds the registry's ruff and mypy settings (copied from its pyproject.toml)."""
    settings = tomllib.loads((REGISTRY_ROOT / "pyproject.toml").read_text())["tool"]
    assert settings["ruff"]["line-length"] == 99
    assert settings["ruff"]["lint"]["isort"] == {
        "known-third-party": ["optuna"],
        "lines-after-imports": 2,
        "force-single-line": True,
        "force-sort-within-sections": True,
        "order-by-type": False,
    }
    for option in ("disallow_untyped_defs", "disallow_untyped_calls", "check_untyped_defs", "ignore_missing_imports"):
        assert settings["mypy"][option] is True


# ------------------------------------------------------------------------------------ the registry's checks


def test_registry_layout_and_front_matter():
    for name in ("__init__.py", "sampler.py", "README.md", "LICENSE", "requirements.txt", "example.py"):
        assert (FOLDER / name).is_file(), f"{FOLDER / name} is missing"
    assert list((FOLDER / "tests").glob("test_*.py")), "no tests/ in the package"
    images = list((FOLDER / "images").glob("*.png"))
    assert images, "no images/ in the package"
    readme = (FOLDER / "README.md").read_text()
    # optunahub-registry/header_confirm.py: every key present and non-empty; samplers need the "sampler" tag.
    header = yaml.safe_load(readme.split("---")[1])
    for key in ("author", "title", "description", "tags", "optuna_versions", "license"):
        assert header.get(key) not in ("", None), f"README front matter: {key} is missing or empty"
    assert "sampler" in header["tags"]
    assert header["title"] != "SkoptSampler" and "(" not in header["title"]  # a human title, not a class name
    lock = (REPO / "requirements-lock.txt").read_text()
    locked = next(line.split("==")[1].split()[0] for line in lock.splitlines() if line.startswith("optuna=="))
    assert locked in [str(v) for v in header["optuna_versions"]], (locked, header["optuna_versions"])
    assert "<" not in readme.replace("<!--", ""), "the registry strips HTML tags from READMEs"
    for image in images:
        assert f"images/{image.name}" in readme, f"{image.name} is not shown in the README"
    assert 'optunahub.load_module("samplers/skopt_sampler")' in readme or "load_module(package=" in readme


def test_ruff_lint_with_the_registrys_settings():
    result = _tool("ruff", "check", "--no-cache", PACKAGE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_with_the_registrys_settings():
    result = _tool("ruff", "format", "--check", "--no-cache", PACKAGE)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_as_the_registrys_ci_runs_it():
    """pre-commit's mypy hook runs in an environment without optuna, numpy, ...: --no-site-packages mimics it."""
    result = _tool("mypy", "--config-file", "pyproject.toml", "--no-site-packages", "--cache-dir", "/dev/null", PACKAGE)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_strict_with_the_libraries_installed():
    result = _tool("mypy", "--config-file", "pyproject.toml", "--strict", "--cache-dir", "/dev/null", PACKAGE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mdformat_with_the_myst_plugin():
    markdown = [str(p.relative_to(REGISTRY_ROOT)) for p in FOLDER.rglob("*.md")]
    result = _tool("mdformat", "--check", *markdown)
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------------------------ the package alone


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_package_tests_pass_in_a_registry_checkout_without_the_course(tmp_path):
    """Copy the folder into an otherwise empty registry layout and run its tests there, as a reviewer would."""
    registry = tmp_path / "optunahub-registry"
    shutil.copytree(FOLDER, registry / "package" / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    run = (
        "import sys, pytest\n"
        f"code = pytest.main(['-q', '-p', 'no:cacheprovider', '-x', 'package/{PACKAGE}/tests'])\n"
        "assert 'tutorial_utils' not in sys.modules, 'the package tests imported the course'\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", run], cwd=registry, capture_output=True, text=True, timeout=840,
        env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONNOUSERSITE": "1"},
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout


@pytest.mark.slow
def test_example_runs():
    result = subprocess.run(
        [sys.executable, f"package/{PACKAGE}/example.py"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "best value" in result.stdout


@pytest.mark.slow
def test_load_local_module_runs_the_same_sampler():
    module = optunahub.load_local_module(package=PACKAGE, registry_root=str(REGISTRY_ROOT))
    assert module.SkoptSampler is not SkoptSampler  # loaded from the folder by optunahub, a module of its own
    hub = _run(module.SkoptSampler(skopt_kwargs=SKOPT_KWARGS, n_startup_trials=0, seed=0), n_trials=20)
    course = _run(SkoptSampler(skopt_kwargs=SKOPT_KWARGS, n_startup_trials=0, seed=0), n_trials=8)
    assert [t.params for t in hub.trials[:8]] == [t.params for t in course.trials]
    # On this quadratic (optimum 0 at (2, -1)) 20 random trials get below 0.1 about 4 % of the time.
    assert hub.best_value < 0.1, hub.best_value
