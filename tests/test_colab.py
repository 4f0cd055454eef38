"""The Colab path of the setup cell, faked here, and the one-URL stamping of every notebook."""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import types

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import NOTEBOOKS, load_tool

colab = load_tool("stamp_colab")  # tools/stamp_colab.py: a maintainer's tool, not part of the package


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_has_the_stamped_badge_and_setup_cell(path):
    assert colab.stamp_notebook(path, write=False) == [], "run `python tools/stamp_colab.py` to restamp"
    first = "".join(json.loads(path.read_text())["cells"][0]["source"])
    assert colab.COURSE_REPO.removeprefix("https://github.com/") in first


def test_readme_colab_links_use_the_one_url(tmp_path):
    assert colab.stamp_readme(write=False) == []
    readme = colab.README.read_text()
    assert readme.count(colab._colab_link_prefix()) >= len(NOTEBOOKS)
    drifted = tmp_path / "README.md"
    drifted.write_text(readme.replace(colab._colab_link_prefix(), "https://colab.research.google.com/github/old/repo/blob/main/notebooks/"))
    assert colab.stamp_readme(drifted) != [] and drifted.read_text() == readme


def test_stamping_repairs_a_drifted_notebook(tmp_path):
    source = NOTEBOOKS[0]
    nb = json.loads(source.read_text())
    nb["cells"][0]["source"] = "# Title\n\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://old)"
    for cell in nb["cells"]:
        if "".join(cell["source"]).startswith(colab.SETUP_MARKER):
            cell["source"] = "".join(cell["source"]).replace(colab.COURSE_REPO, "https://github.com/someone/else")
    drifted = tmp_path / source.name
    drifted.write_text(json.dumps(nb))
    problems = colab.stamp_notebook(drifted)
    assert len(problems) == 2
    assert colab.stamp_notebook(drifted, write=False) == []


class FakeColab:
    """Pretends to be a fresh Colab runtime: google.colab importable, course not installed, no clone yet.

    With ``forced`` there is no google.colab: the cell must take the Colab path because of HPO_COURSE_FORCE_COLAB.
    """

    def __init__(self, monkeypatch, course_dir: str = colab.COURSE_DIR, forced: bool = False):
        self.commands: list[list[str]] = []
        self.constraints: list[str] = []
        self.chdirs: list[str] = []
        self.cloned = False
        self.installed = False
        real_find_spec = importlib.util.find_spec
        if forced:
            monkeypatch.setenv(colab.FORCE_COLAB_ENV, "1")
        else:
            google = types.ModuleType("google")
            google.__spec__ = importlib.machinery.ModuleSpec("google", None)
            colab_module = types.ModuleType("google.colab")
            colab_module.__spec__ = importlib.machinery.ModuleSpec("google.colab", None)
            monkeypatch.setitem(sys.modules, "google", google)
            monkeypatch.setitem(sys.modules, "google.colab", colab_module)

        def find_spec(name, *args):
            if name == "tutorial_utils" and not self.installed:
                return None
            if forced and name.startswith("google"):
                return None
            return real_find_spec(name, *args)

        def run(cmd, check=False, **kwargs):
            self.commands.append(list(cmd))
            if cmd[:2] == ["git", "clone"]:
                self.cloned = True
            if "-c" in cmd:
                with open(cmd[cmd.index("-c") + 1]) as file:
                    self.constraints = file.read().split()
            if "--no-deps" in cmd:
                self.installed = True
            return subprocess.CompletedProcess(cmd, 0)

        real_isdir = os.path.isdir
        monkeypatch.setattr(importlib.util, "find_spec", find_spec)
        monkeypatch.setattr(subprocess, "run", run)
        monkeypatch.setattr(os.path, "isdir", lambda p: self.cloned if p == course_dir else real_isdir(p))
        monkeypatch.setattr(os, "chdir", self.chdirs.append)


def _pip(*args: str) -> list[str]:
    return [sys.executable, "-m", "pip", "install", "-q", *args]


def test_colab_path_installs_what_colab_lacks_then_the_course_without_deps(monkeypatch, capsys):
    fake = FakeColab(monkeypatch)
    cell = colab.setup_cell_source()
    namespace: dict = {}
    exec(compile(cell, "setup-cell", "exec"), namespace)
    constraints = fake.commands[1][fake.commands[1].index("-c") + 1]
    assert fake.commands == [
        ["git", "clone", "--depth", "1", colab.COURSE_REPO, colab.COURSE_DIR],
        _pip("-c", constraints, *colab.colab_pins()),
        _pip("--no-deps", colab.COURSE_DIR),
    ]
    assert fake.chdirs == [f"{colab.COURSE_DIR}/notebooks"]
    assert namespace["IN_COLAB"] is True and str(namespace["DEVICE"]) in {"cpu", "cuda", "mps"}
    out = capsys.readouterr().out
    assert "Device:" in out and "download_face_data" in out

    exec(compile(cell, "setup-cell", "exec"), {})
    assert len(fake.commands) == 3, "a second run of the setup cell must not clone or install again"
    assert fake.chdirs == [f"{colab.COURSE_DIR}/notebooks"] * 2


def test_colab_keeps_its_own_packages_at_the_versions_it_has(monkeypatch):
    """Colab's torch, numpy, ... are held by a pip constraint at exactly the installed versions, and the pins
    name none of them: pip fails rather than replace one under a running kernel."""
    fake = FakeColab(monkeypatch)
    exec(compile(colab.setup_cell_source(), "setup-cell", "exec"), {})
    expected = []
    for name in colab.COLAB_KEEPS:
        try:
            expected.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    assert fake.constraints == expected and any(c.startswith("torch==") for c in expected)
    pinned = {canonicalize_name(Requirement(p).name) for p in colab.colab_pins()}
    assert pinned.isdisjoint(canonicalize_name(k) for k in colab.COLAB_KEEPS)
    assert "ipykernel" not in pinned and "jupyterlab" not in pinned and "tutorial-utils" not in pinned
    course_install = fake.commands[-1]
    assert "-e" not in course_install and "--no-deps" in course_install, "the course itself must not pull deps"


def test_the_colab_path_can_be_forced_and_pointed_at_another_clone(monkeypatch, tmp_path):
    course_dir = str(tmp_path / "course")
    monkeypatch.setenv(colab.REPO_ENV, "/some/local/clone")
    monkeypatch.setenv(colab.DIR_ENV, course_dir)
    fake = FakeColab(monkeypatch, course_dir=course_dir, forced=True)
    namespace: dict = {}
    exec(compile(colab.setup_cell_source(), "setup-cell", "exec"), namespace)
    assert namespace["IN_COLAB"] is True
    assert fake.commands[0] == ["git", "clone", "--depth", "1", "/some/local/clone", course_dir]
    assert fake.commands[-1] == _pip("--no-deps", course_dir)
    assert fake.chdirs == [f"{course_dir}/notebooks"]


def test_local_path_installs_nothing(monkeypatch):
    calls = []
    monkeypatch.delenv(colab.FORCE_COLAB_ENV, raising=False)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    namespace: dict = {}
    exec(compile(colab.setup_cell_source(), "setup-cell", "exec"), namespace)
    assert calls == [] and namespace["IN_COLAB"] is False


def test_restamping_changes_only_the_setup_cell_and_keeps_the_file_style(tmp_path):
    """A notebook written with unsorted keys and list sources keeps every other byte when restamped."""
    source = NOTEBOOKS[0]
    nb = json.loads(source.read_text())
    for cell in nb["cells"]:
        cell["source"] = "".join(cell["source"]).splitlines(keepends=True)
        cell.pop("id", None)
        cell["id"] = "x" * 8  # last key: not json.dump's sort_keys order
    setup = next(c for c in nb["cells"] if "".join(c["source"]).startswith(colab.SETUP_MARKER))
    setup["source"] = ["# Setup: run first. old\n", "print('old')"]
    drifted = tmp_path / source.name
    drifted.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    before = drifted.read_text().splitlines()
    assert colab.stamp_notebook(drifted) == [f"{source.name}: setup cell differs from the template"]
    after = drifted.read_text().splitlines()
    changed = [line for line in after if line not in before]
    assert changed and all(line.startswith("    \"") for line in changed), changed
    assert [line for line in before if line not in after] == ['    "# Setup: run first. old\\n",', '    "print(\'old\')"']
    assert colab.stamp_notebook(drifted, write=False) == []
