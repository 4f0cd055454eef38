"""The course installs and runs anywhere: a complete wheel, paths that resolve outside a checkout, `make lab`."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tomllib
from pathlib import Path

import pytest

from conftest import REPO, load_tool
from tutorial_utils import data as data_mod

# ----------------------------------------------------------------------------------------------- the wheel


def test_package_list_names_every_subpackage():
    """`[tool.setuptools] packages` must list every folder of tutorial_utils with code (plotting/ was once left
    out), and the OptunaHub package mapped in from package/samplers/skopt_sampler/ by `package-dir`."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    source = REPO / "tutorial_utils"
    with_code = {
        ".".join(folder.relative_to(REPO).parts)
        for folder in [source, *source.rglob("*")]
        if folder.is_dir() and "__pycache__" not in folder.parts and any(folder.glob("*.py"))
    }
    assert "tutorial_utils.plotting" in with_code
    assert all((REPO / folder / "__init__.py").is_file() for folder in config["package-dir"].values())
    assert set(config["packages"]) == with_code | set(config["package-dir"]), (
        f"list these in pyproject.toml's [tool.setuptools] packages: {sorted(with_code - set(config['packages']))}"
    )


def test_wheel_metadata_license_urls_and_a_description_with_absolute_links():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    assert (REPO / "tutorial_utils" / "py.typed").is_file()
    COURSE_REPO = load_tool("stamp_colab").COURSE_REPO  # the one place that holds it
    assert project["urls"]["Source"] == COURSE_REPO and project["authors"]
    description = (REPO / project["readme"]["file"]).read_text()
    links = re.findall(r"\]\(([^)]+)\)", description)
    assert links and all(link.startswith("https://") for link in links), links
    assert all(link.startswith(COURSE_REPO) or "github.com" not in link for link in links), links


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_wheel_installs_and_runs_notebook_01_outside_the_checkout():
    """tools/wheel_check.sh: build, install into a clean venv, import all, run notebook 01 (about 30 s)."""
    if not (REPO / ".venv" / "bin" / "python").exists():
        pytest.skip("needs the project's .venv (make setup)")
    # Own process group, so a timeout also ends papermill and its kernel.
    process = subprocess.Popen(
        ["bash", str(REPO / "tools" / "wheel_check.sh")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=540)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail("tools/wheel_check.sh ran over 540 s:\n" + stdout[-4000:] + stderr[-4000:])
    assert process.returncode == 0, stdout[-4000:] + stderr[-4000:]
    assert "wheel check passed" in stdout


# ----------------------------------------------------------------------------------------------- paths


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """tutorial_utils as if installed from the wheel: the package sits in site-packages, not in a checkout."""
    site = tmp_path / "venv" / "lib" / "site-packages" / "tutorial_utils"
    site.mkdir(parents=True)
    monkeypatch.setattr(data_mod, "__file__", str(site / "data.py"))
    monkeypatch.delenv("HPO_COURSE_HOME", raising=False)
    monkeypatch.delenv("HPO_COURSE_DATA", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_in_the_checkout_the_home_is_the_checkout(monkeypatch):
    monkeypatch.delenv("HPO_COURSE_HOME", raising=False)
    assert data_mod.repo_root() == REPO


def test_installed_home_is_the_working_directory(installed):
    assert data_mod.repo_root() == installed
    assert data_mod.data_dirs() == [installed / "data", installed.parent / "data"]


def test_installed_home_from_a_notebooks_folder_is_its_parent(installed, monkeypatch):
    (installed / "notebooks").mkdir()
    monkeypatch.chdir(installed / "notebooks")
    assert data_mod.repo_root() == installed
    assert installed / "data" in data_mod.data_dirs()


def test_installed_finds_the_data_of_the_course_folder(installed, monkeypatch):
    (installed / "data").mkdir()
    (installed / "data" / "age_gender.csv").write_text("age,ethnicity,gender,img_name,pixels\n")
    (installed / "notebooks").mkdir()
    monkeypatch.chdir(installed / "notebooks")
    assert data_mod.find_data_file() == installed / "data" / "age_gender.csv"


def test_course_home_variable_wins(installed, monkeypatch, tmp_path):
    home = tmp_path / "course"
    (home / "data").mkdir(parents=True)
    (home / "data" / "age_gender.csv.gz").write_bytes(b"")
    monkeypatch.setenv("HPO_COURSE_HOME", str(home))
    assert data_mod.repo_root() == home
    assert data_mod.data_dirs()[-1] == home / "data"
    assert data_mod.find_data_file() == home / "data" / "age_gender.csv.gz"


def test_course_home_variable_naming_no_folder_is_an_error(installed, monkeypatch, tmp_path):
    monkeypatch.setenv("HPO_COURSE_HOME", str(tmp_path / "typo"))
    with pytest.raises(FileNotFoundError, match=r"HPO_COURSE_HOME=.*typo: no such folder"):
        data_mod.find_data_file()


def test_data_variable_is_the_only_place_looked(installed, monkeypatch, tmp_path):
    (installed / "data").mkdir()
    (installed / "data" / "age_gender.csv").write_text("x")  # would be found without the variable
    elsewhere = tmp_path / "faces"
    elsewhere.mkdir()
    monkeypatch.setenv("HPO_COURSE_DATA", str(elsewhere))
    assert data_mod.data_dirs() == [elsewhere]
    with pytest.raises(FileNotFoundError, match=r"HPO_COURSE_DATA=.*faces: folder holds none of age_gender.csv"):
        data_mod.find_data_file()
    (elsewhere / "age_gender.csv").write_text("x")
    assert data_mod.find_data_file() == elsewhere / "age_gender.csv"
    monkeypatch.setenv("HPO_COURSE_DATA", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match=r"HPO_COURSE_DATA=.*missing: no such folder"):
        data_mod.find_data_file()


def test_no_data_message_says_where_it_looked(installed, capsys):
    faces = data_mod.load_age_gender(synthetic_rows=30, use_cache=False)
    assert faces.is_synthetic
    out = capsys.readouterr().out
    assert f"looked in {installed / 'data'}, {installed.parent / 'data'}" in out


# ----------------------------------------------------------------------------------------------- make lab


def _lab_command(tmp_path: Path, uid: int) -> str:
    """The `jupyter lab` line `make -n lab` would run when `id -u` says ``uid`` (a fake `id` first on PATH)."""
    bin_dir = tmp_path / f"uid{uid}"
    bin_dir.mkdir()
    fake_id = bin_dir / "id"
    fake_id.write_text(f"#!/bin/sh\necho {uid}\n")
    fake_id.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("LAB_ARGS", "MAKEFLAGS", "MFLAGS")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    # -n prints the commands without running them; the setup recipe (pip installs) is printed, not run.
    result = subprocess.run(["make", "-n", "lab"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    (line,) = [ln for ln in result.stdout.splitlines() if "jupyter lab" in ln]
    return line


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_make_lab_allows_root_only_as_root(tmp_path):
    as_root, as_user = _lab_command(tmp_path, 0).split(), _lab_command(tmp_path, 1000).split()
    assert "--allow-root" in as_root
    assert "--allow-root" not in as_user
    assert as_user[-2:] == ["lab", "notebooks/"] and as_root[-1] == "notebooks/"
