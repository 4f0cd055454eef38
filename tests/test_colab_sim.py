"""The Colab path of the setup cell, run for real in a simulated fresh Colab runtime (tools/colab_sim.py).

A fresh venv sees a Colab-like set of packages (torch, numpy, pandas, scipy, scikit-learn, matplotlib, plotly,
ipykernel, ipywidgets and their dependencies) linked from .venv, but not optuna, scikit-optimize, lightgbm,
madgrad, cmaes, greenlet or tutorial_utils. Notebooks 01 and 06 are run in fast mode with that venv's kernel,
with the Colab path forced (HPO_COURSE_FORCE_COLAB=1) and the repository pointed at a local git snapshot of the
working tree (HPO_COURSE_REPO): their own setup cell clones it, installs what is missing, installs the course,
and the notebook then runs to the end in the same kernel.

Offline by design, so it never skips for want of a network, locally or in CI: the cell's pip installs from a
wheelhouse (PIP_NO_INDEX, PIP_FIND_LINKS) holding the very versions installed in .venv, repacked from their
installed files. What that leaves unproven (PyPI serving those pins, Colab's real versions, its GPU, Drive and
kagglehub) is listed in the README's "Verified installs". About two minutes on 2 cores.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import colab_sim  # noqa: E402
import stamp_colab  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> dict:
    return colab_sim.simulate(tmp_path_factory.mktemp("colab-sim"), ("01", "06"))


def test_the_runtime_starts_without_the_course_and_with_colabs_packages(sim):
    before = sim["before"]
    assert before["importable"] == [], f"the simulated Colab already had {before['importable']}"
    for name, found in before["packages"].items():
        assert found is not None and Path(found[1]) == Path(sim["colab_site"]), f"{name}: {found}"


def test_the_setup_cell_installs_what_colab_lacks_and_the_course(sim):
    assert sorted(sim["after"]["importable"]) == sorted(colab_sim.MUST_INSTALL_MODULES)
    new = set(sim["runs"]["01"]["site_packages"]) - set(sim["site_before"])
    installed = {entry.split("-")[0].lower() for entry in new if entry.endswith(".dist-info")}
    expected = {wheel.split("-")[0] for wheel in sim["wheels"]} - {"setuptools"} | {"tutorial_utils"}
    assert installed == expected, "the cell installed more (or less) than the pins and their missing deps"
    course = Path(sim["course_dir"])
    assert (course / ".git").is_dir() and (course / "notebooks").is_dir(), "the cell did not clone the course"


def test_colabs_own_packages_are_not_replaced(sim):
    assert sim["after"]["packages"] == sim["before"]["packages"]
    for number, run in sim["runs"].items():
        for name, (version, file) in run["kernel"]["loaded"].items():
            assert Path(file).is_relative_to(sim["colab_site"]), f"notebook {number}: {name} came from {file}"
            assert version == sim["before"]["packages"][name][0]


def test_the_kernel_imports_the_installed_course_not_an_editable_one(sim):
    site = Path(sim["venv_site_packages"])
    for number, run in sim["runs"].items():
        kernel = run["kernel"]
        assert Path(kernel["tutorial_utils"]).parent == site / "tutorial_utils", f"notebook {number}: {kernel}"
        assert kernel["cwd"] == str(Path(sim["course_dir"]) / "notebooks")
    assert not list(site.glob("__editable__*")), "the course must not be an editable install in Colab"


def test_every_notebook_ran_to_the_end_and_the_second_installed_nothing(sim):
    first, second = sim["runs"]["01"], sim["runs"]["06"]
    for run in (first, second):
        assert f"optuna {stamp_colab.colab_pins()[0].split('==')[1]}" in run["setup_output"] and "Device:" in run["setup_output"]
        assert "ERROR" not in run["setup_output"] and "Traceback" not in run["setup_output"]
    assert second["site_packages"] == first["site_packages"], "the setup cell installed again in notebook 06"
    print(f"colab simulation: {sim['timings']} (total {sim['total_s']} s)")
