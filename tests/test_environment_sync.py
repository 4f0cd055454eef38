"""The version floors are written once, in pyproject.toml; everything else that names versions must agree.

environment.yml lists the same packages (core + lab + postgres) with the same floors; the Colab pins, the
Makefile's torch, the README's "tested with" versions and the OptunaHub package's requirements.txt must
satisfy them; the notebooks' setup check reads them (tests/test_setup.py).
"""

from __future__ import annotations

import re

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from conftest import REPO
from tutorial_utils import colab

CONDA_ALIASES = {"pytorch": "torch"}
# The README's display names of the packages whose tested versions it states.
README_NAMES = {
    "Optuna": "optuna",
    "optuna-integration": "optuna-integration",
    "scikit-optimize": "scikit-optimize",
    "LightGBM": "lightgbm",
    "PyTorch": "torch",
    "NumPy": "numpy",
    "pandas": "pandas",
    "scikit-learn": "scikit-learn",
    "matplotlib": "matplotlib",
    "plotly": "plotly",
}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _floors(requirements: list[str]) -> dict[str, str]:
    """{canonical name: floor} of requirements written as name>=floor (self-references skipped)."""
    floors = {}
    for text in requirements:
        requirement = Requirement(text)
        if canonicalize_name(requirement.name) == "tutorial-utils":
            continue
        (spec,) = requirement.specifier  # one clause each: the floor
        assert spec.operator == ">=", f"{text}: write floors as >= (pins belong in the Colab line or the Makefile)"
        floors[canonicalize_name(requirement.name)] = spec.version
    return floors


def _learner_floors() -> dict[str, str]:
    """What a learner's environment needs: the core dependencies plus the lab and postgres extras."""
    project = _project()
    extras = project["optional-dependencies"]
    return _floors(project["dependencies"] + extras["lab"] + extras["postgres"])


def _environment_yml_floors() -> dict[str, str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    listed = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            listed += [r for r in dep.get("pip", []) if not r.startswith("-e")]
        elif _name(dep) not in ("python", "pip"):
            listed.append(dep)
    floors = {}
    for text in listed:
        name, _, floor = text.partition(">=")
        assert floor, f"environment.yml: {text} has no >= floor"
        name = CONDA_ALIASES.get(_name(name), _name(name))
        floors[canonicalize_name(name)] = floor.strip()
    return floors


def test_environment_yml_matches_pyproject():
    declared = _learner_floors()
    listed = _environment_yml_floors()
    assert listed.keys() == declared.keys(), (
        f"only in environment.yml: {sorted(listed.keys() - declared.keys())}; "
        f"only in pyproject: {sorted(declared.keys() - listed.keys())}"
    )
    differing = {name: (listed[name], declared[name]) for name in declared if listed[name] != declared[name]}
    assert differing == {}, f"floors differ (environment.yml, pyproject): {differing}"


def test_dev_extra_brings_what_the_notebooks_need():
    """The test suite executes the notebooks: `make setup` (.[dev]) must install lab and postgres too."""
    dev = _project()["optional-dependencies"]["dev"]
    self_reference = [Requirement(r) for r in dev if canonicalize_name(Requirement(r).name) == "tutorial-utils"]
    assert len(self_reference) == 1 and {"lab", "postgres"} <= self_reference[0].extras
    assert "optunahub" in _floors(dev)


def _assert_satisfies(versions: dict[str, str], where: str) -> None:
    floors = {**_learner_floors(), **_floors(_project()["optional-dependencies"]["data"])}
    too_old = {name: (v, floors[name]) for name, v in versions.items() if name in floors and Version(v) < Version(floors[name])}
    assert too_old == {}, f"{where} is below pyproject's floors (version, floor): {too_old}"


def test_colab_pins_satisfy_the_floors():
    pins = {}
    for text in colab.COLAB_PINS:
        requirement = Requirement(text)
        (spec,) = requirement.specifier
        pins[canonicalize_name(requirement.name)] = spec.version
    assert {"optuna", "scikit-optimize", "lightgbm"} <= pins.keys()
    _assert_satisfies(pins, "tutorial_utils/colab.py COLAB_PINS")


def test_makefile_torch_satisfies_the_floor():
    match = re.search(r"^TORCH_SPEC \?= torch==(\S+)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert match, "Makefile: TORCH_SPEC ?= torch==X.Y.Z not found"
    _assert_satisfies({"torch": match.group(1)}, "Makefile TORCH_SPEC")


def test_readme_tested_versions_satisfy_the_floors():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Library versions", 1)[1].split("\n## ", 1)[0]
    tested = section.split("tested with:", 1)[1].split(". ", 1)[0]
    found = {}
    for display, name in README_NAMES.items():
        match = re.search(rf"(?<![\w-]){re.escape(display)} (\d+(?:\.\d+)*)", tested)
        if match:
            found[name] = match.group(1)
    assert {"optuna", "torch", "numpy", "scikit-optimize"} <= found.keys(), f"README tested-with line not understood: {tested!r}"
    _assert_satisfies(found, "README's tested versions")


def test_optunahub_package_requirements_match_the_floors():
    path = REPO / "package" / "samplers" / "skopt" / "requirements.txt"
    if not path.exists():
        pytest.skip(f"{path} not found")
    listed = _floors([line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")])
    core = _learner_floors()
    assert {name: floor for name, floor in listed.items() if core.get(name) != floor} == {}
