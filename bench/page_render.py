"""Page render times in a real browser: the very first visit, each page's first render, and slider changes.

1. A fresh server with the run cache off (OVERFIT_LAB_RESULT_CACHE=0, so every render really trains): the very
   first visit after start (imports, data sets) is timed and printed on its own; then each page's first render
   in that server (it has served one session), and the median of a few reloads.
2. A normal server (run cache on), warmed by one visit to each page: a slider change on Regularization,
   Capacity and Data strategies (one step right, a setting not trained yet), and the polynomial degree
   slider on Regression after its background prefetch. Each is timed from the key press to the end of the
   rerun, so it is the server's time plus a browser round trip.

3. The same slider changes without a browser (`--server-cpu`): each page in AppTest in this process, warmed by
   one run, then a few slider steps, each timed in wall and CPU seconds of the rerun. On a busy shared machine
   the CPU seconds are the steadier measure of the server's own work.

Targets (issue 9): first render ≤ 3 s once the server has served one session; a slider change ≤ 0.5 s.

    python bench/page_render.py [--repeats 3] [--server-cpu]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from ui.navigation import PAGES  # noqa: E402
from ui.serve import BROWSER_ARGS, dashboard, wait_finished  # noqa: E402


def timed_load(page, url: str, chart: bool) -> float:
    start = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    wait_finished(page)
    if chart:
        page.wait_for_selector("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg", timeout=90_000)
    return time.perf_counter() - start


def slider_steps(page, label: str, steps: int = 3, key: str = "ArrowRight") -> list[float]:
    """Seconds from pressing `key` on the slider labelled `label` to the end of the rerun, for a few steps."""
    thumb = page.locator("[data-testid='stSlider']").filter(has_text=label).locator("input[type='range']").first
    times = []
    for _ in range(steps):
        thumb.focus()
        start = time.perf_counter()
        thumb.press(key)
        try:
            page.wait_for_selector("[data-testid='stApp'][data-test-script-state='running']", timeout=3_000)
        except PlaywrightTimeout:  # a rerun answered from the cache can be over before the state is looked at
            pass
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)
        times.append(time.perf_counter() - start)
    return times


NO_CHART = {"reproductions"}  # a table of the guide's claims; its charts come when a claim is re-run

# (page, slider label, key, what each step changes)
SLIDERS = [
    ("regularization", "L2 / weight decay λ", "ArrowRight", "the L2 strength: 2 methods and the strength sweep retrain"),
    ("capacity", "high degree", "ArrowLeft", "the high polynomial degree (from 20 down): one more fit"),
    ("data-strategies", "epochs", "ArrowRight", "learning-curve epochs: all 6 training sizes retrain"),
]


# (page file, widget kind, key, the values stepped through, a value far from them) for the same changes as SLIDERS,
# in AppTest. Data strategies trains a slider step's neighbours in the background after each render (prefetch): its
# steps are timed once that is done (a student reads the curve first), and the far value shows a change nothing
# prefetched.
APPTEST_STEPS = [
    ("pages/regularization.py", "select_slider", "pen.l2", [5.0, 10.0, 20.0], None),
    ("pages/capacity.py", "slider", "fit.high", [19, 18, 17], None),
    ("pages/data_strategies.py", "slider", "lc.epochs", [21, 22, 23], 40),
]


def wait_for_prefetch(timeout: float = 120.0) -> None:
    """Wait until the pages' background prefetch threads are done."""
    import threading

    end = time.perf_counter() + timeout
    while time.perf_counter() < end and any(t.name.startswith("prefetch-") for t in threading.enumerate()):
        time.sleep(0.05)


def server_cpu() -> None:
    """Each slider step's rerun in AppTest (the page script in this process): wall and CPU seconds."""
    import os

    import torch

    os.environ["OVERFIT_LAB_DB"] = str(Path(tempfile.mkdtemp()) / "apptest.db")
    torch.set_num_threads(1)  # as the dashboard does
    from streamlit.testing.v1 import AppTest

    print("slider changes in AppTest (the rerun's own wall and CPU seconds, warm: the page ran once before):")
    for page, kind, key, values, far in APPTEST_STEPS:
        at = AppTest.from_file(str(ROOT / page), default_timeout=300).run()

        def step(value: Any) -> tuple[float, float]:
            wait_for_prefetch()
            w0, c0 = time.perf_counter(), time.process_time()
            getattr(at, kind)(key=key).set_value(value).run()
            if at.exception:
                raise RuntimeError(f"{page}: {at.exception[0].message}")
            return time.perf_counter() - w0, time.process_time() - c0  # CPU of every thread, a new prefetch's included

        steps = [step(value) for value in values]
        print(f"  {page:<26} {key:<10} " + ", ".join(f"{w:.2f} s ({c:.2f} s CPU)" for w, c in steps)
              + f"; median CPU {statistics.median(c for _, c in steps):.2f} s (target 0.5 s)")
        if far is not None:
            w, c = step(far)
            print(f"  {'':<26} {key:<10} a jump to {far}, not prefetched: {w:.2f} s ({c:.2f} s CPU)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--server-cpu", action="store_true", help="only the slider changes, in AppTest, wall and CPU")
    args = parser.parse_args()
    if args.server_cpu:
        return server_cpu()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    db = Path(tempfile.mkdtemp()) / "bench.db"
    with dashboard({"OVERFIT_LAB_DB": str(db), "OVERFIT_LAB_RESULT_CACHE": "0"}) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        first = timed_load(page, url, chart=False)
        print(f"very first visit after the server started (home page): {first:.2f} s")
        print(f"{'page':<18} {'first render s':>14} {'reloads, median of ' + str(args.repeats) + ' s':>26}")
        for info in PAGES:
            if info.url_path in ("runs", "sweeps"):
                continue  # these read the store; they train nothing by default
            target = f"{url}/{info.url_path}"
            chart = info.url_path not in NO_CHART
            warm = timed_load(page, target, chart=chart)
            runs = [timed_load(page, target, chart=chart) for _ in range(args.repeats)]
            print(f"{info.url_path:<18} {warm:14.2f} {statistics.median(runs):26.2f}   (all: {', '.join(f'{r:.2f}' for r in runs)})")
        browser.close()
    with dashboard({"OVERFIT_LAB_DB": str(db)}) as cached_url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        print("slider changes on a warm server (run cache on), key press to end of rerun:")
        for path, label, key, what in SLIDERS:
            timed_load(page, f"{cached_url}/{path}", chart=True)
            steps = slider_steps(page, label, key=key)
            print(f"  {path:<16} {label!r}: {', '.join(f'{s:.2f}' for s in steps)} s (median {statistics.median(steps):.2f} s; "
                  f"target 0.5 s) — {what}")
        timed_load(page, f"{cached_url}/regression?regression.tab=polynomial", chart=True)
        time.sleep(8)  # the page prefetches the other degrees while the reader looks at the chart
        steps = slider_steps(page, "degree", 4)
        print(f"  {'regression':<16} 'degree' after prefetch: {', '.join(f'{s:.2f}' for s in steps)} s "
              f"(median {statistics.median(steps):.2f} s)")
        browser.close()


if __name__ == "__main__":
    main()
