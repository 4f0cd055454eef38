"""The rendered course, checked in a real headless Chromium: pages load cleanly, images show, links work."""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import threading
from pathlib import Path

import pytest

from conftest import NOTEBOOKS, REPO, execute_fast, headless_chrome

sys.path.insert(0, str(REPO / "tools"))
import build_site  # noqa: E402

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOTS = REPO / "build" / "screenshots"


@pytest.fixture(scope="module")
def site(executed_dir, tmp_path_factory) -> Path:
    """Render the fast-mode site from the notebooks the notebook tests executed (executing any missing one)."""
    import json

    for path in NOTEBOOKS:
        if not (executed_dir / path.name).exists():
            execute_fast(path, executed_dir, timeout=600)
    timings = json.loads((executed_dir / "timings.json").read_text())
    out = tmp_path_factory.mktemp("site")
    build_site.render_site(executed_dir, out, timings, mode="fast")
    return out


def test_site_has_an_index_and_one_page_per_notebook(site):
    pages = sorted(p.name for p in site.glob("*.html"))
    assert pages == sorted(["index.html", *(f"{p.stem}.html" for p in NOTEBOOKS)])
    index = (site / "index.html").read_text()
    for path in NOTEBOOKS:
        assert f'href="{path.stem}.html"' in index
    assert "https://cdn" not in index and "unpkg.com" not in index


@pytest.fixture(scope="module")
def browser(site):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Chromium/chromedriver not installed (Debian packages chromium, chromium-driver; .ci/run installs them)")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = headless_chrome(CHROMIUM, CHROMEDRIVER, "1280,1600", browser_log=True)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield driver, base
    driver.quit()
    server.shutdown()


PAGES = ["index", *(p.stem for p in NOTEBOOKS)]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("page", PAGES)
def test_page_loads_without_console_errors_and_images_render(browser, page):
    driver, base = browser
    driver.get("about:blank")
    driver.get_log("browser")  # drain: the previous page may log late (a font request cut off when it unloads)
    driver.get(f"{base}/{page}.html")
    errors = [
        e for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and not e["message"].startswith("about:blank")
        and not any(f"/{other}.html" in e["message"] for other in PAGES if other != page)
    ]
    assert not errors, f"{page}: console errors {errors}"
    images = driver.execute_script(
        "return Array.from(document.images).map(i => [i.src.slice(0, 80), i.complete, i.naturalWidth, i.naturalHeight]);"
    )
    broken = [img for img in images if not (img[1] and img[2] > 0 and img[3] > 0)]
    assert not broken, f"{page}: images missing or empty: {broken}"
    if page != "index":
        assert len(images) >= 2, f"{page}: expected the Colab badge and at least one figure, found {len(images)} images"
    if page in ("index", "08_sampler_showdown"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{page}.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000


@pytest.mark.timeout(180)
def test_navigation_links_walk_the_course(browser):
    driver, base = browser
    driver.get(f"{base}/index.html")
    targets = driver.execute_script(
        "return Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href')).filter(h => /^\\d\\d_.*\\.html$/.test(h));"
    )
    assert targets == [f"{p.stem}.html" for p in NOTEBOOKS]
    driver.get(f"{base}/{targets[0]}")
    visited = [targets[0]]
    from selenium.webdriver.common.by import By

    while driver.find_elements(By.ID, "nav-next"):
        driver.find_element(By.ID, "nav-next").click()
        visited.append(driver.current_url.rsplit("/", 1)[1])
        assert driver.find_elements(By.ID, "nav-index"), f"{visited[-1]} has no link back to the index"
    assert visited == targets
    driver.find_element(By.ID, "nav-index").click()
    assert driver.current_url.endswith("/index.html")
