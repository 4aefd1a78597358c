"""The Playground's live view in a real browser: updates sent by the server, frames painted, epochs trained per second.

A dashboard server is started (`ui.serve.dashboard`) and the Playground opened in headless Chromium with the default
network (2-8-8-2, tanh, adam, batch 10) on 500 moons points (250 training, 250 test), at the speed given (default:
as fast as it trains). After Play, for `--seconds`:

- **server updates/s**: WebSocket messages from the server that carry the decision boundary's data (its Arrow table
  names the column `p_class1`), counted in the browser as they arrive;
- **browser frames/s**: how often the boundary's canvas changed, sampled at every animation frame in the page
  (`requestAnimationFrame`, a checksum of a strided sample of its pixels);
- **epochs/s**: the epoch counter the page shows, at the start and the end of the window.

Targets (issue 8): the server sends ≥ 5 updates/s and the browser paints ≥ 3 frames/s on this 2-core machine.

    python bench/playground_fps.py [--seconds 10] [--speed max] [--side-by-side] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ui.serve import BROWSER_ARGS, dashboard, wait_finished  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# counts changes of the first chart canvas (the decision boundary) at every animation frame
PAINT_COUNTER = """
() => {
  window.__frames = 0; window.__last = null;
  const tick = () => {
    const canvas = document.querySelector("[data-testid='stVegaLiteChart'] canvas");
    if (canvas && canvas.width > 0) {
      const ctx = canvas.getContext("2d");
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      let sum = 0;
      for (let i = 0; i < data.length; i += 97) sum = (sum * 31 + data[i]) | 0;
      if (window.__last !== null && sum !== window.__last) window.__frames += 1;
      window.__last = sum;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
"""


def epoch_shown(page) -> int:
    text = page.locator("text=/Epoch \\d+/").first.inner_text()
    return int(re.search(r"Epoch (\d+)", text).group(1))


def measure(url: str, browser, seconds: float, speed: str, side_by_side: bool) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    updates = [0]

    def on_socket(ws) -> None:
        ws.on("framereceived", lambda payload: updates.__setitem__(0, updates[0] + (b"p_class1" in payload
                                                                                    if isinstance(payload, bytes) else 0)))

    page.on("websocket", on_socket)
    query = f"?pg.speed={speed}" + ("&pg.compare=true" if side_by_side else "")
    page.goto(f"{url}/playground{query}", wait_until="domcontentloaded")
    wait_finished(page)
    page.wait_for_selector("[data-testid='stVegaLiteChart'] canvas", timeout=90_000)
    page.get_by_role("button", name="Play").click()
    page.wait_for_selector("text=/playing/", timeout=30_000)
    page.wait_for_timeout(2000)  # past the first redraws (Playwright delivers WebSocket events while it waits)
    page.evaluate(PAINT_COUNTER)
    start_updates, start_epoch, start = updates[0], epoch_shown(page), time.perf_counter()
    page.wait_for_timeout(seconds * 1000)
    end_epoch, frames = epoch_shown(page), page.evaluate("window.__frames")
    elapsed = time.perf_counter() - start
    out = {"server updates/s": (updates[0] - start_updates) / elapsed, "browser frames/s": frames / elapsed,
           "epochs/s": (end_epoch - start_epoch) / elapsed}
    page.get_by_role("button", name="Pause").click()
    page.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--speed", default="max", help="epochs per second the page allows: 1, 2, 5, 10, 20, 50 or max")
    parser.add_argument("--side-by-side", action="store_true", help="two models (A, and B with L2) in two panels")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp, dashboard({"OVERFIT_LAB_DB": str(Path(tmp) / "runs.db")}) as url:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            for i in range(args.repeats):
                figures = measure(url, browser, args.seconds, args.speed, args.side_by_side)
                print(f"pass {i + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()), flush=True)
            browser.close()


if __name__ == "__main__":
    main()
