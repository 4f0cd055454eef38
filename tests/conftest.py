"""Shared fixtures and helpers: paths, the real data file, a PostgreSQL server, CLI checks, notebook runs.

In CI (``CI=true``) a test that needs PostgreSQL or a browser may not skip: a skip there would hide a broken
install, so it is reported as a failure. Locally such tests skip with the reason.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
REAL_DATA = REPO.parent / "shared" / "data" / "age_gender.csv.gz"


# Under pytest-xdist (`make test` runs -n auto) every test file is one unit of work, so its module-scoped fixtures
# (a Colab venv, the GPU check's dry run) are built once; the notebook runs and the site test share one unit,
# because the site renders the copies the notebook runs left instead of running them again. (xdist's own
# --dist loadgroup would do the second part, but its group marks are lost under pytest 9: it rewrites a node
# id pytest no longer reads.) The longest units go first, so that no worker starts one when the others are
# nearly done.
SHARED_UNITS = {"test_notebooks.py": "executed-notebooks", "test_site.py": "executed-notebooks"}
LONGEST_FIRST = ["executed-notebooks", "test_optunahub.py", "test_gpu_check.py", "test_benchmarks.py",
                 "test_colab_sim.py", "test_samplers.py", "test_cli.py"]


def _unit(path: Path) -> str:
    return SHARED_UNITS.get(path.name, str(path))


@pytest.hookimpl(optionalhook=True)  # pytest -p no:xdist still runs the suite serially
def pytest_xdist_make_scheduler(config, log):
    """Schedule whole units (a file, or the notebooks with the site) on one worker each."""
    from xdist.scheduler import LoadScopeScheduling

    class ByUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit(Path(nodeid.split("::", 1)[0]))

    config.option.loadscopereorder = False  # keep LONGEST_FIRST: xdist would order the units by their test count
    return ByUnit(config, log)


def pytest_collection_modifyitems(config, items):
    def rank(item):
        unit = _unit(item.path)
        name = unit if unit in SHARED_UNITS.values() else item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: within a unit (notebooks before the site) the collection order stays


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


# ------------------------------------------------------------------------------------------ CI: no silent skips

MUST_RUN_IN_CI = ("postgres", "browser")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    needs = [m for m in MUST_RUN_IN_CI if item.get_closest_marker(m)]
    if report.skipped and needs and in_ci():
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where {' and '.join(needs)} must be available: {reason}"


# ------------------------------------------------------------------------------------------ PostgreSQL


def load_tool(name: str):
    """tools/NAME.py as a module (the tools are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def pg_server():
    """URL of a PostgreSQL database the tests may create studies in (the server stops at session end), or the
    reason there is none."""
    if os.environ.get("TUTORIAL_UTILS_PG_URL"):
        yield os.environ["TUTORIAL_UTILS_PG_URL"], None
        return
    tool = load_tool("pg_test_server")
    root = Path(tempfile.mkdtemp(prefix="hpo-course-pg-test-"))
    try:
        url = tool.start(root)
    except tool.ServerError as exc:
        tool.stop(root)
        yield None, f"could not start a local PostgreSQL server ({exc}); set TUTORIAL_UTILS_PG_URL to use another"
        return
    try:
        yield url, None
    finally:
        tool.stop(root)


@pytest.fixture
def pg_url(pg_server) -> str:
    url, reason = pg_server
    if url is None:
        pytest.skip(reason)
    return url


# ------------------------------------------------------------------------------------------ command lines

ENTRY_POINTS = {
    "worker": ["-m", "benchmarks.bench_workers", "worker", "--study", "s", "--n-trials", "1", "--objective", "sleep"],
    "runner": ["-m", "tutorial_utils", "run", "--sampler", "random", "--n-trials", "1", "--epochs", "1",
               "--data", "synthetic", "--quiet"],
}  # fmt: skip


def run_cli(entry: str, url: str, timeout: float = 40) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    cmd = [sys.executable, *ENTRY_POINTS[entry], "--storage", url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    return done, time.monotonic() - start


def assert_readable_failure(done: subprocess.CompletedProcess, elapsed: float, *needles: str, limit: float = 20):
    assert done.returncode != 0, "a command that can't use its storage must exit non-zero"
    assert "Traceback" not in done.stderr, f"expected one readable line, got a traceback:\n{done.stderr}"
    first = done.stderr.strip().splitlines()[0]
    assert first.startswith(("error: ", "python -m tutorial_utils: error: ")), done.stderr
    for needle in needles:
        assert needle in done.stderr, f"{needle!r} not in {done.stderr!r}"
    assert "s3cret" not in done.stderr, "the password must not be printed"
    assert elapsed < limit, f"took {elapsed:.1f} s; every wait must be bounded"


# ------------------------------------------------------------------------------------------ notebooks


def execute_fast(path: Path, out_dir: Path, timeout: float, parameters: dict | None = None) -> float:
    """Run one notebook in fast mode into out_dir, record its time in out_dir/timings.json, return it."""
    sys.path.insert(0, str(REPO / "tools"))
    import build_site

    elapsed = build_site.execute_notebook(path, out_dir / path.name, fast=True, timeout=timeout, parameters=parameters)
    timings_file = out_dir / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    timings[path.name] = elapsed
    timings_file.write_text(json.dumps(timings, indent=2))
    return elapsed


# ------------------------------------------------------------------------------------------ browser


def headless_chrome(chromium: str, chromedriver: str, window: str, browser_log: bool = False):
    """Headless Chromium driven by selenium, with the flags that keep it offline and quiet in CI."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", f"--window-size={window}"):
        options.add_argument(flag)
    if browser_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.set_page_load_timeout(60)
    return driver
