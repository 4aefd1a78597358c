"""The dashboard in a real browser: `streamlit run dashboard.py` on a free loopback port, **every tab of every page**
opened in headless Chromium (Debian's, through Playwright).

For each tab: no exception shown, a chart drawn (where the tab has one), no element wider than the main column (nor a
chart wider than its st.columns column), and a screenshot of the whole content in artifacts/screenshots/
(`<page>.png` for a page without tabs, `<page>--<n>-<tab>.png` for each tab).

Tabs are found by clicking, not by a list kept here, so a new tab or page is covered without editing this file.
Skipped, with the reason, where Chromium or Playwright is missing (.ci/run installs Chromium).
"""

from __future__ import annotations

import re
import shutil
import time
import warnings
from pathlib import Path

import pytest

from ui.serve import BROWSER_ARGS, wait_finished

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "artifacts" / "screenshots"
PAGE_TIMEOUT_MS = 90_000
WIDTH = 1400
OPEN_AT_ONCE = 3  # pages open at a time (measured: 125 s for 22 views against 169 s one at a time)
# Views known to draw wider than their column, each fixed by the branch that owns the page (issue 7, item 7). They
# warn instead of failing; once one fits, the test fails until it is removed here, so the list cannot go stale.
KNOWN_OVERFLOW: dict[str, str] = {}  # "page → tab": why it is still too wide (none left)
CHART = "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg"
# views whose content is tables and numbers, not charts ("page" or "page → tab label")
NO_CHART = {"home", "reproductions", "basics → Forward and backward"}
# pages whose tabs hold settings beside the charts (the Playground): their charts are looked for in the whole page
SETTINGS_TABS = {"playground"}

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -r requirements.txt)")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does)")

# Every visible element of the main column whose box leaves its bound: the nearest st.columns column, or else the
# main block container. Skipped: elements inside widgets that scroll by design (data frames, code, the tab bar: their
# overflow is scrolled, not cut), visually hidden ones (screen-reader inputs clipped to 1 px), and the inside of a
# chart's svg (Vega sizes the svg to hold it all, so the svg or canvas itself is what is measured).
OVERFLOW_JS = """
() => {
  const main = document.querySelector("[data-testid='stMain'] [data-testid='stMainBlockContainer']");
  if (!main) return ["no stMainBlockContainer"];
  const scrollers = "[data-testid='stDataFrame'], [data-testid='stTable'], [data-testid='stCode'], [role='tablist'], pre, " +
                    "[data-testid='stTooltipContent'], [data-baseweb='popover']";
  const out = [];
  for (const el of main.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.position === 'fixed') continue;
    if (el.closest(scrollers) || el.closest('svg') !== el && el.closest('svg')) continue;
    let hidden = false;
    for (let a = el.parentElement; a && a !== main && !hidden; a = a.parentElement) {
      const ar = a.getBoundingClientRect();
      hidden = (ar.width < 2 || ar.height < 2) && getComputedStyle(a).overflow !== 'visible';
    }
    if (hidden) continue;
    const column = el.parentElement && el.parentElement.closest("[data-testid='stColumn']");
    const bound = (column && main.contains(column) ? column : main).getBoundingClientRect();
    const over = Math.max(r.right - bound.right, bound.left - r.left);
    if (over > 2) {
      const chart = el.closest("[data-testid='stVegaLiteChart']");
      const title = chart ? (chart.querySelector('svg title, .role-title-text, canvas') || {}).textContent : '';
      const id = el.getAttribute('data-testid') || el.tagName.toLowerCase();
      out.push(`${id}${chart ? ' in a chart' : ''} ${Math.round(over)} px past its ${column ? 'column' : 'main column'}` +
               `${title ? ` (${title.slice(0, 60)})` : ''}: ${(el.innerText || '').slice(0, 60).replace(/\\n/g, ' ')}`);
    }
  }
  return out.slice(0, 5);
}
"""


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
    """One dashboard server for every browser test in this module."""
    from ui.serve import dashboard

    db = tmp_path_factory.mktemp("browser") / "runs.db"
    sweep_id = seed_store(db)
    with dashboard({"OVERFIT_LAB_DB": str(db)}) as url:
        yield url, sweep_id


@pytest.fixture(scope="module")
def browser():
    """One Chromium for every browser test in this module."""
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


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def tab_bar(page):
    """The page's own tabs (the first tab bar of the main column)."""
    return page.locator("[data-testid='stMain'] [data-testid='stTabs']").first.locator("[role='tab']")


def tab_ready(page, index: int) -> None:
    """Wait until the index-th tab is selected, its panel has content and the script has finished."""
    page.wait_for_function(
        """(i) => {
            const bar = document.querySelector("[data-testid='stMain'] [data-testid='stTabs']");
            const tab = bar && bar.querySelectorAll("[role='tab']")[i];
            const panel = tab && document.getElementById(tab.getAttribute('aria-controls'));
            const app = document.querySelector("[data-testid='stApp']");
            return tab && tab.getAttribute('aria-selected') === 'true' && panel && panel.querySelector("[data-testid='stElementContainer']")
                   && app.getAttribute('data-test-script-state') === 'notRunning';
        }""",
        arg=index, timeout=PAGE_TIMEOUT_MS,
    )


def check_view(page, view: str, shot: Path) -> list[str]:
    """No exception, a chart drawn (unless the view is in NO_CHART), nothing wider than its column; a screenshot."""
    failures = []
    visible_panel = page.locator("[data-testid='stMain'] [role='tabpanel']:visible")
    scope = visible_panel.first if visible_panel.count() and view.split(" → ")[0] not in SETTINGS_TABS else page
    exceptions = page.locator("[data-testid='stException']")
    if exceptions.count():
        failures.append(f"{view}: exception shown: {exceptions.first.inner_text()[:300]}")
    elif view not in NO_CHART:
        try:
            scope.locator(CHART).first.wait_for(timeout=PAGE_TIMEOUT_MS)
        except playwright_api.TimeoutError:
            failures.append(f"{view}: no chart drawn")
    overflow = page.evaluate(OVERFLOW_JS)
    if overflow:  # Vega lays a chart out twice (before and after it knows its width): measure again once settled
        page.wait_for_timeout(1000)
        overflow = page.evaluate(OVERFLOW_JS)
    failures += [f"{view}: {line}" for line in overflow]
    # Streamlit scrolls inside its own container, so a full-page screenshot would stop at the viewport: grow it instead
    height = page.evaluate("() => document.querySelector(\"[data-testid='stMain']\").scrollHeight")
    page.set_viewport_size({"width": WIDTH, "height": max(1000, min(int(height) + 40, 12_000))})
    page.wait_for_timeout(300)
    page.screenshot(path=str(shot))
    page.set_viewport_size({"width": WIDTH, "height": 1000})
    return failures


class View:
    """One open browser page going through its tabs: `tab` is the index of the tab to check next."""

    def __init__(self, context, url: str, name: str):
        self.name, self.tab, self.labels = name, 0, None
        self.page = context.new_page()
        self.page.goto(url, wait_until="commit")  # do not wait: the server renders it while other views are checked

    def check_next(self) -> list[str]:
        """Check the current tab (or the page without tabs) and click the next tab; [] when all is well."""
        if self.labels is None:
            wait_finished(self.page, PAGE_TIMEOUT_MS)
            self.labels = [t.inner_text().strip() for t in tab_bar(self.page).all()]
        if not self.labels:
            self.view, self.tab = self.name, None
            return check_view(self.page, self.name, SHOTS / f"{self.name}.png")
        tab_ready(self.page, self.tab)
        self.view = f"{self.name} → {self.labels[self.tab]}"
        failures = check_view(self.page, self.view, SHOTS / f"{self.name}--{self.tab + 1}-{slug(self.labels[self.tab])}.png")
        self.tab += 1
        if self.tab < len(self.labels):
            tab_bar(self.page).nth(self.tab).click()  # the server runs that tab while other views are checked
        else:
            self.tab = None
        return failures


def test_every_tab_of_every_page(server, browser):
    url, sweep_id = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    failures, seen = [], []
    context = browser.new_context(viewport={"width": WIDTH, "height": 1000})
    todo, open_views = page_urls(sweep_id), []
    # a few pages at once, round robin: one trains on the server while another is measured and photographed.
    # The home page goes first and alone: until one page has run through the router (dashboard.py), Streamlit serves
    # page URLs in its old pages/ mode (see ui/boot.py), and several such first requests at once can stay there.
    while todo or open_views:
        while todo and len(open_views) < (OPEN_AT_ONCE if seen else 1):
            name, path = todo.pop(0)
            open_views.append(View(context, f"{url}/{path}", name))
        view = open_views.pop(0)
        try:
            failures += view.check_next()
            seen.append(view.view)
        except playwright_api.TimeoutError as exc:
            failures.append(f"{view.name} (tab {view.tab}): {str(exc).splitlines()[0]}")
            view.page.screenshot(path=str(SHOTS / f"{view.name}--timeout.png"))
            view.tab = None
        if view.tab is None:
            view.page.close()
        else:
            open_views.append(view)
    context.close()
    known = {view: reason for view, reason in KNOWN_OVERFLOW.items()
             if any(f.startswith(f"{view}: ") and " past its " in f for f in failures)}
    fixed = set(KNOWN_OVERFLOW) - set(known)
    failures = [f for f in failures if not any(f.startswith(f"{view}: ") and " past its " in f for view in known)]
    for view, reason in known.items():
        warnings.warn(f"{view}: still wider than its column ({reason})")
    assert not fixed, f"no longer too wide, remove from KNOWN_OVERFLOW: {sorted(fixed)}"
    assert not failures, "\n".join(failures)
    assert len(seen) >= 20 and {"capacity → Width vs depth", "regression → Polynomial"} <= set(seen)  # the tabs were found


# A CJK glyph is drawn, not a box: two different characters give different pixels (every missing glyph is the same
# box). `document.fonts.check` alone answers true for a font that is not installed, so it is only reported.
CJK_FONT_JS = """
() => {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 48;
  const g = canvas.getContext('2d');
  const body = getComputedStyle(document.querySelector("[data-testid='stMain'] h1") || document.body).fontFamily;
  const draw = (ch) => { g.clearRect(0, 0, 48, 48); g.font = `36px ${body}`; g.fillText(ch, 4, 38);
                         return Array.from(g.getImageData(0, 0, 48, 48).data).join(','); };
  return {distinct: draw('过') !== draw('拟') && draw('拟') !== draw('合'), noto: document.fonts.check('16px "Noto Sans CJK SC"')};
}
"""


def test_chinese_pages_their_font_and_lang_across_navigation(server, browser, tmp_path):
    """A browser asking for Chinese gets it (and `lang=zh` in the URL); the language survives a click in the page
    navigation; the CJK glyphs are drawn; an English page beside it. Screenshots in the test's tmp folder."""
    url, _sweep = server
    zh = browser.new_context(locale="zh-CN", viewport={"width": WIDTH, "height": 1000})
    try:
        page = zh.new_page()
        page.goto(url, wait_until="commit")  # no lang: the browser's language decides
        wait_finished(page, PAGE_TIMEOUT_MS)
        page.wait_for_url(re.compile(r"lang=zh"), timeout=PAGE_TIMEOUT_MS)
        assert "各页面讲什么" in page.locator("[data-testid='stMain']").inner_text()
        page.goto(f"{url.rstrip('/')}/regression?lang=zh", wait_until="commit")
        wait_finished(page, PAGE_TIMEOUT_MS)
        assert not page.locator("[data-testid='stException']").count()
        assert page.locator("[data-testid='stMain'] h1").first.inner_text().strip() == "回归"
        font = page.evaluate(CJK_FONT_JS)
        assert font["distinct"], f"Chinese characters are drawn as boxes: install a CJK font (fonts-noto-cjk) {font}"
        page.screenshot(path=str(tmp_path / "regression-zh.png"))
        page.locator("[data-testid='stSidebarNav'] a", has_text="模型容量").first.click()
        page.wait_for_url(re.compile(r"/capacity\?.*lang=zh"), timeout=PAGE_TIMEOUT_MS)
        wait_finished(page, PAGE_TIMEOUT_MS)
        page.wait_for_function("() => (document.querySelector(\"[data-testid='stMain'] h1\") || {}).innerText === '模型容量'",
                               timeout=PAGE_TIMEOUT_MS)
        assert not page.locator("[data-testid='stException']").count()
        page.screenshot(path=str(tmp_path / "capacity-zh.png"))
        # a tab's URL value is its slug, so the language switch keeps the open tab (and a shared link works in both)
        tab_bar(page).nth(1).click()
        page.wait_for_url(re.compile(r"capacity\.tab=width-vs-depth"), timeout=PAGE_TIMEOUT_MS)
        wait_finished(page, PAGE_TIMEOUT_MS)
        page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
        page.locator("[role='option']", has_text="English").first.click()
        page.wait_for_function("() => (document.querySelector(\"[data-testid='stMain'] h1\") || {}).innerText === 'Capacity'",
                               timeout=PAGE_TIMEOUT_MS)
        wait_finished(page, PAGE_TIMEOUT_MS)
        assert "lang=" not in page.url and "capacity.tab=width-vs-depth" in page.url
        assert tab_bar(page).nth(1).get_attribute("aria-selected") == "true"
        assert tab_bar(page).nth(1).inner_text().strip() == "Width vs depth"
    finally:
        zh.close()
    en = browser.new_context(locale="en-US", viewport={"width": WIDTH, "height": 1000})
    try:
        page = en.new_page()
        page.goto(f"{url.rstrip('/')}/capacity", wait_until="commit")
        wait_finished(page, PAGE_TIMEOUT_MS)
        assert not page.locator("[data-testid='stException']").count()
        assert page.locator("[data-testid='stMain'] h1").first.inner_text().strip() == "Capacity"
        assert "lang=" not in page.url
        page.screenshot(path=str(tmp_path / "capacity-en.png"))
    finally:
        en.close()


def test_the_playground_animates(server, browser):
    """While playing, the decision boundary's picture changes between two screenshots; no exception is shown."""
    url, _ = server
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
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
        # settings → URL: the browser writes a setting into the address as it changes (a shared link carries it)
        assert "pg.compare" not in page.url
        page.get_by_role("tab", name="Side by side").click()
        page.get_by_text("Train a second model (B) beside this one (A)").click()
        page.wait_for_function("() => location.search.includes('pg.compare=true')", timeout=30_000)
        assert "pg.points=200" in page.url
    finally:
        page.close()
