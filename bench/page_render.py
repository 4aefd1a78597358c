"""Page render times in a real browser: each page's first render with defaults, and the polynomial degree slider.

Starts `streamlit run dashboard.py` with the run cache off (OVERFIT_LAB_RESULT_CACHE=0), so every render
really trains; opens each page once to warm up (imports, data sets), then reloads it and times the reload
until the script has finished and a chart is drawn. Targets (issue 3): first render ≤ 3 s on 2 cores once
data sets are cached; the degree slider answers within 0.5 s.

    python bench/page_render.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ui.navigation import PAGES  # noqa: E402
from ui.serve import BROWSER_ARGS, dashboard, wait_finished  # noqa: E402


def timed_load(page, url: str, chart: bool) -> float:
    start = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    wait_finished(page)
    if chart:
        page.wait_for_selector("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg", timeout=90_000)
    return time.perf_counter() - start


def degree_slider(page) -> list[float]:
    """Seconds from pressing → on the polynomial degree slider to the end of the rerun, for a few steps.

    The page prefetches the other degrees in the background after its first render; the steps are
    timed after a pause that lets the prefetch finish, as when a reader looks at the chart first.
    """
    thumb = page.locator("[data-testid='stSlider']").filter(has_text="degree").locator("input[type='range']").first
    times = []
    for _ in range(4):
        thumb.focus()
        start = time.perf_counter()
        thumb.press("ArrowRight")
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='running']", timeout=10_000)
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=30_000)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    db = Path(tempfile.mkdtemp()) / "bench.db"
    with dashboard({"OVERFIT_LAB_DB": str(db), "OVERFIT_LAB_RESULT_CACHE": "0"}) as url, \
            dashboard({"OVERFIT_LAB_DB": str(db)}) as cached_url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        print(f"{'page':<18} {'warm-up s':>9} {'first render s (median of ' + str(args.repeats) + ')':>34}")
        for info in PAGES:
            if info.url_path in ("runs", "sweeps"):
                continue  # these read the store; they train nothing by default
            target = f"{url}/{info.url_path}"
            warm = timed_load(page, target, chart=True)
            runs = [timed_load(page, target, chart=True) for _ in range(args.repeats)]
            print(f"{info.url_path:<18} {warm:9.2f} {statistics.median(runs):34.2f}   (all: {', '.join(f'{r:.2f}' for r in runs)})")
        # the slider is timed on a normal server (run cache on), where the page's prefetch can work
        timed_load(page, f"{cached_url}/regression?regression.tab=Polynomial", chart=True)
        time.sleep(8)
        steps = degree_slider(page)
        print(f"polynomial degree slider: {', '.join(f'{s:.2f}' for s in steps)} s per step "
              f"(median {statistics.median(steps):.2f} s; target 0.5 s)")
        browser.close()


if __name__ == "__main__":
    main()
