"""The dashboard in a real browser: `streamlit run dashboard.py` on a free loopback port, every page opened in
headless Chromium (Debian's, through Playwright), no exception shown, each page's main chart drawn,
screenshots saved in artifacts/screenshots/.

Skipped, with the reason, where Chromium or Playwright is missing (.ci/run installs Chromium).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from ui.serve import BROWSER_ARGS, wait_finished

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "artifacts" / "screenshots"
PAGE_TIMEOUT_MS = 90_000

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -r requirements.txt)")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does)")


def seed_store(db: Path) -> str:
    """A few stored runs and one finished sweep, so the Runs and Sweeps pages have something to draw."""
    from core.store import Store
    from core.studies import get_study, run_study
    from core.sweeps import Axis, SweepSpec, run_sweep

    store = Store(db)
    run_study(get_study("polynomial"), {"epochs": 5}, store=store)
    run_study(get_study("polynomial"), {"epochs": 5, "degree": 10}, store=store)
    spec = SweepSpec("polynomial", {"epochs": 5}, (Axis("degree", (1, 3, 5)),))
    return run_sweep(spec, store=store, backend="serial").sweep_id


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from ui.serve import dashboard

    db = tmp_path_factory.mktemp("browser") / "runs.db"
    sweep_id = seed_store(db)
    with dashboard({"OVERFIT_LAB_DB": str(db)}) as url:
        yield url, sweep_id


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield b
        b.close()


def page_urls(sweep_id: str) -> list[tuple[str, str]]:
    from ui.navigation import PAGES

    urls = [("home", "")]
    for p in PAGES:
        query = f"?sweep.id={sweep_id}" if p.url_path == "sweeps" else ""
        urls.append((p.url_path, p.url_path + query))
    return urls


def test_every_page_renders_its_charts(server, browser):
    url, sweep_id = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    failures = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    for name, path in page_urls(sweep_id):
        page = context.new_page()
        page.goto(f"{url}/{path}", wait_until="domcontentloaded")
        try:
            wait_finished(page)
            if name != "home" and not page.locator("[data-testid='stException']").count():  # the home page has a table, not a chart
                page.wait_for_selector("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg",
                                       timeout=PAGE_TIMEOUT_MS)
        except playwright_api.TimeoutError as exc:
            failures.append(f"{name}: {str(exc).splitlines()[0]}")
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        exceptions = page.locator("[data-testid='stException']")
        if exceptions.count():
            failures.append(f"{name}: exception shown: {exceptions.first.inner_text()[:300]}")
        page.close()
    context.close()
    assert not failures, "\n".join(failures)


def test_the_playground_animates(server, browser):
    """While playing, the decision boundary's picture changes between two screenshots; no exception is shown."""
    url, _ = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{url}/playground?pg.points=200", wait_until="domcontentloaded")
        wait_finished(page)
        boundary = page.locator("[data-testid='stVegaLiteChart']").first
        boundary.locator("canvas, svg").first.wait_for(timeout=PAGE_TIMEOUT_MS)
        page.get_by_role("button", name="Play").click()
        page.wait_for_selector("text=/playing/", timeout=30_000)
        first = boundary.screenshot()
        changed, deadline = False, time.monotonic() + 40  # a loaded machine redraws slowly: look until it changes
        while not changed and time.monotonic() < deadline:
            page.wait_for_timeout(500)
            changed = boundary.screenshot() != first
        epoch = page.locator("text=/Epoch \\d+/").first.inner_text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "playground-playing.png"), full_page=True)
        assert changed, "the decision boundary did not change while playing"
        assert int(epoch.split()[1]) > 1
        assert not page.locator("[data-testid='stException']").count()
        page.get_by_role("button", name="Pause").click()
        page.wait_for_selector("text=/paused/", timeout=30_000)
    finally:
        page.close()
