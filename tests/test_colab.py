"""The Colab path of the setup cell, faked here, and the one-URL stamping of every notebook."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
import types

import pytest

from conftest import NOTEBOOKS
from tutorial_utils import colab


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_has_the_stamped_badge_and_setup_cell(path):
    assert colab.stamp_notebook(path, write=False) == [], "run `python -m tutorial_utils.colab` to restamp"
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
    """Pretends to be a fresh Colab runtime: google.colab importable, course not installed, no clone yet."""

    def __init__(self, monkeypatch):
        self.commands: list[list[str]] = []
        self.chdirs: list[str] = []
        self.cloned = False
        self.installed = False
        real_find_spec = importlib.util.find_spec
        google = types.ModuleType("google")
        google.__spec__ = importlib.machinery.ModuleSpec("google", None)
        colab_module = types.ModuleType("google.colab")
        colab_module.__spec__ = importlib.machinery.ModuleSpec("google.colab", None)
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", colab_module)

        def find_spec(name, *args):
            if name == "tutorial_utils" and not self.installed:
                return None
            return real_find_spec(name, *args)

        def run(cmd, check=False, **kwargs):
            self.commands.append(list(cmd))
            if cmd[:2] == ["git", "clone"]:
                self.cloned = True
            if "pip" in cmd:
                self.installed = True
            return subprocess.CompletedProcess(cmd, 0)

        real_isdir = os.path.isdir
        monkeypatch.setattr(importlib.util, "find_spec", find_spec)
        monkeypatch.setattr(subprocess, "run", run)
        monkeypatch.setattr(os.path, "isdir", lambda p: self.cloned if p == colab.COURSE_DIR else real_isdir(p))
        monkeypatch.setattr(os, "chdir", self.chdirs.append)


def test_colab_path_runs_exactly_the_install_commands_once(monkeypatch, capsys):
    fake = FakeColab(monkeypatch)
    cell = colab.setup_cell_source()
    namespace: dict = {}
    exec(compile(cell, "setup-cell", "exec"), namespace)
    assert fake.commands == [
        ["git", "clone", "--depth", "1", colab.COURSE_REPO, colab.COURSE_DIR],
        [sys.executable, "-m", "pip", "install", "-q", *colab.COLAB_PINS, "-e", colab.COURSE_DIR],
    ]
    assert not any(p.startswith("torch") for p in colab.COLAB_PINS), "never replace Colab's torch"
    assert fake.chdirs == [f"{colab.COURSE_DIR}/notebooks"]
    assert namespace["IN_COLAB"] is True and str(namespace["DEVICE"]) in {"cpu", "cuda", "mps"}
    out = capsys.readouterr().out
    assert "Device:" in out and "download_face_data" in out

    exec(compile(cell, "setup-cell", "exec"), {})
    assert len(fake.commands) == 2, "a second run of the setup cell must not clone or install again"
    assert fake.chdirs == [f"{colab.COURSE_DIR}/notebooks"] * 2


def test_local_path_installs_nothing(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    namespace: dict = {}
    exec(compile(colab.setup_cell_source(), "setup-cell", "exec"), namespace)
    assert calls == [] and namespace["IN_COLAB"] is False
