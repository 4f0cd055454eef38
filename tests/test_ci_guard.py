"""In CI a PostgreSQL or browser test may not skip: a skip there hides a broken install."""

from __future__ import annotations

import shutil
import subprocess
import sys

from conftest import REPO

SKIPPING = '''
import pytest

@pytest.mark.postgres
def test_needs_postgres():
    pytest.skip("no server here")

def test_plain_skip():
    pytest.skip("fine anywhere")
'''


def _run(tmp_path, ci: str):
    shutil.copy(REPO / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_sample.py").write_text(SKIPPING)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    postgres: x\n    browser: y\n")
    env = {"CI": ci, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)


def test_a_skipped_postgres_test_fails_in_ci_and_skips_locally(tmp_path):
    ci = _run(tmp_path, "true")
    assert ci.returncode != 0 and "1 failed, 1 skipped" in ci.stdout, ci.stdout
    assert "skipped in CI, where postgres must be available: " in ci.stdout and "no server here" in ci.stdout
    local = _run(tmp_path, "")
    assert local.returncode == 0 and "2 skipped" in local.stdout, local.stdout
