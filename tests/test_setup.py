"""Version checks of the notebooks' setup cell: PEP 440 ordering, and floors read from pyproject.toml."""

from __future__ import annotations

import importlib.metadata
import tomllib

import pytest

from conftest import REPO
from tutorial_utils import setup


@pytest.mark.parametrize(
    ("version", "minimum", "expected"),
    [
        ("1.13.0rc1", "1.13.0", False),  # a release candidate predates the release (the old tuple check said >=)
        ("1.13.0", "1.13.0", True),
        ("1.13", "1.13.0", True),  # 1.13 == 1.13.0
        ("2.13.0+cpu", "2.4", True),  # local build tags do not hide the version
        ("2.3.1+cu121", "2.4", False),
        ("2.10.0", "2.4", True),  # numeric, not string, order
        ("5.0.0.dev0", "5.0", False),
        ("5.0.0.post1", "5.0", True),
        ("0.10.2", "0.10.2", True),
        ("0.9.9", "0.10.2", False),
        ("4.0.0b2", "4.0", False),
    ],
)
def test_is_at_least_follows_pep_440(version, minimum, expected):
    assert setup.is_at_least(version, minimum) is expected


def test_min_versions_are_pyprojects_core_floors():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    floors = {}
    for requirement in project["dependencies"]:
        name, _, floor = requirement.partition(">=")
        floors[name.strip().lower()] = floor.strip()
    assert setup.MIN_VERSIONS == floors
    assert {"optuna", "torch", "numpy", "scikit-optimize", "lightgbm"} <= set(setup.MIN_VERSIONS)
    assert set(setup.SHOWN_VERSIONS) <= set(setup.MIN_VERSIONS)


def test_minimums_from_requirements_skips_extras_and_markers():
    requirements = [
        "numpy>=2.0",
        "torch>=2.4,<3",
        "madgrad==1.3",
        "optuna~=5.0",
        "pytest>=8.0; extra == 'dev'",
        "tutorial_utils[lab,postgres]; extra == 'dev'",
        "pywin32>=300; sys_platform == 'win32' and sys_platform != 'win32'",
        "tqdm",
    ]
    assert setup.minimums_from_requirements(requirements) == {
        "numpy": "2.0",
        "torch": "2.4",
        "madgrad": "1.3",
        "optuna": "5.0",
    }


def test_wheel_install_reads_the_floors_from_its_metadata(monkeypatch):
    """Outside a checkout there is no pyproject.toml: the installed distribution's Requires-Dist is read."""
    monkeypatch.setattr(setup, "_checkout_pyproject", lambda: None)
    requires = ["numpy>=2.0", "optuna>=5.0", 'jupyterlab>=4.2; extra == "lab"']
    monkeypatch.setattr(importlib.metadata, "requires", lambda name: requires if name == "tutorial_utils" else None)
    assert setup.declared_minimums() == {"numpy": "2.0", "optuna": "5.0"}


def test_no_checkout_and_no_metadata_means_no_floors(monkeypatch):
    monkeypatch.setattr(setup, "_checkout_pyproject", lambda: None)

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "requires", missing)
    assert setup.declared_minimums() == {}


def test_check_versions_names_every_problem(monkeypatch):
    installed = {"optuna": "5.0.0rc1", "torch": "2.13.0+cpu", "numpy": "2.4.0"}

    def version(name):
        if name not in installed:
            raise importlib.metadata.PackageNotFoundError(name)
        return installed[name]

    monkeypatch.setattr(importlib.metadata, "version", version)
    with pytest.raises(RuntimeError) as info:
        setup.check_versions({"optuna": "5.0", "torch": "2.4", "numpy": "2.0", "lightgbm": "4.0"})
    message = str(info.value)
    assert "optuna 5.0.0rc1 is too old (need >= 5.0)" in message
    assert "lightgbm is not installed (need >= 4.0)" in message
    assert "torch" not in message and "numpy" not in message
    installed["optuna"] = "5.0.0"
    installed["lightgbm"] = "4.7.0"
    assert setup.check_versions({"optuna": "5.0", "torch": "2.4"}) == {"optuna": "5.0.0", "torch": "2.13.0+cpu"}


def test_unrankable_version_does_not_block(monkeypatch):
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "custom-build")
    assert setup.check_versions({"somepkg": "1.0"}) == {"somepkg": "custom-build"}


def test_installed_environment_passes_the_check():
    found = setup.check_versions()
    assert set(found) == set(setup.MIN_VERSIONS)
