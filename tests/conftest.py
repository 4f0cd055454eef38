"""Shared fixtures: paths, the real data file when present, and a quiet matplotlib backend."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
REAL_DATA = REPO.parent / "shared" / "data" / "age_gender.csv.gz"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep the parsed-data cache out of the user's home during tests (one cache per session)."""
    monkeypatch.setenv("TUTORIAL_UTILS_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def executed_dir(tmp_path_factory) -> Path:
    """Where the notebook tests leave executed copies (with a timings.json), so the site test can reuse them."""
    return tmp_path_factory.mktemp("executed")


@pytest.fixture
def real_data_path() -> Path:
    if not REAL_DATA.exists():
        pytest.skip(f"real face data not found at {REAL_DATA}")
    return REAL_DATA
