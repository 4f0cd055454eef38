"""pyproject.toml and environment.yml must list the same runtime dependencies."""

from __future__ import annotations

import re

import tomllib
import yaml

from conftest import REPO


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in project["dependencies"]}
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda, pip = set(), set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip |= {_name(r) for r in dep.get("pip", []) if not r.startswith("-e")}
        else:
            conda.add(_name(dep))
    listed = (conda | pip) - {"python", "pip"}
    conda_aliases = {"pytorch": "torch"}
    listed = {conda_aliases.get(n, n) for n in listed}
    assert listed == declared, f"only in environment.yml: {sorted(listed - declared)}; only in pyproject: {sorted(declared - listed)}"
