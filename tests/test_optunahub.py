"""SkoptSampler as an OptunaHub package: generated from tutorial_utils/samplers.py, loadable, and the same sampler."""

from __future__ import annotations

import importlib.util
import sys
import warnings

import optuna
import pytest

from conftest import REPO
from tutorial_utils.samplers import SkoptSampler

optunahub = pytest.importorskip("optunahub", reason="optunahub is in the dev extra: `make setup` installs it")

REGISTRY_ROOT = REPO / "package"
PACKAGE = "samplers/skopt"
SKOPT_KWARGS = {"n_initial_points": 5, "base_estimator": "GP"}


def _tool():
    spec = importlib.util.spec_from_file_location("make_optunahub_package", REPO / "tools" / "make_optunahub_package.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _quadratic(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    y = trial.suggest_float("y", -5.0, 5.0)
    return (x - 2.0) ** 2 + (y + 1.0) ** 2


def _run(sampler: optuna.samplers.BaseSampler, n_trials: int) -> optuna.Study:
    study = optuna.create_study(sampler=sampler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skopt's "already evaluated" notes; not what is tested
        study.optimize(_quadratic, n_trials=n_trials)
    return study


def test_committed_package_is_generated_from_samplers_py():
    problems = _tool().differences()
    assert problems == [], "run `python tools/make_optunahub_package.py`: " + "; ".join(problems)


def test_generator_notices_a_hand_edit(tmp_path):
    tool = _tool()
    tool.write(tmp_path)
    assert tool.differences(tmp_path) == []
    sampler_file = tmp_path / "sampler.py"
    sampler_file.write_text(sampler_file.read_text().replace("n_startup_trials: int = 1", "n_startup_trials: int = 2"))
    assert tool.differences(tmp_path) == [f"{sampler_file}: differs from tutorial_utils/samplers.py"]


def test_package_has_the_optunahub_layout():
    folder = REGISTRY_ROOT / PACKAGE
    for name in ("__init__.py", "sampler.py", "README.md", "LICENSE", "requirements.txt"):
        assert (folder / name).is_file(), f"{folder / name} is missing"
    readme = (folder / "README.md").read_text()
    front_matter = readme.split("---")[1]
    for key in ("author:", "title:", "description:", "tags:", "optuna_versions:", "license:"):
        assert key in front_matter, f"README front matter lacks {key}"
    assert "sampler" in front_matter.split("tags:")[1].splitlines()[0]  # the registry requires this tag
    assert "load_local_module" in readme and "SkoptSampler(" in readme


@pytest.mark.slow
def test_load_local_module_runs_the_course_sampler():
    module = optunahub.load_local_module(package=PACKAGE, registry_root=str(REGISTRY_ROOT))
    assert module.__file__ == str(REGISTRY_ROOT / PACKAGE / "__init__.py")
    assert module.SkoptSampler is not SkoptSampler  # loaded from the package folder, not from tutorial_utils
    hub = _run(module.SkoptSampler(skopt_kwargs=SKOPT_KWARGS, n_startup_trials=0, seed=0), n_trials=20)

    # The same code: with the same seed the course's sampler proposes exactly the same points, the GP phase
    # (trials 5+) included.
    course = _run(SkoptSampler(skopt_kwargs=SKOPT_KWARGS, n_startup_trials=0, seed=0), n_trials=8)
    assert [t.params for t in hub.trials[:8]] == [t.params for t in course.trials]

    # And it optimizes: on this quadratic (optimum 0 at (2, -1)) 20 random trials get below 0.1 about 4 % of
    # the time (measured over 300 seeds); the GP gets to about 1e-3.
    assert hub.best_value < 0.1, hub.best_value
    random_study = _run(optuna.samplers.RandomSampler(seed=0), n_trials=20)
    assert hub.best_value < random_study.best_value
