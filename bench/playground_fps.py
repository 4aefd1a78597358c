"""The Playground's live view in a real browser: updates sent by the server, frames painted, epochs trained per second.

A dashboard server is started (`ui.serve.dashboard`) and the Playground opened in headless Chromium with the default
network (2-8-8-2, tanh, adam, batch 10) on 500 moons points (250 training, 250 test), at the speed given (default:
as fast as it trains). After Play, for `--seconds`:

- **server updates/s**: WebSocket messages from the server that carry the decision boundary's data (its Arrow table
  names the column `p_class1`, drawn as cells or as one picture), counted in the browser as they arrive;
- **browser frames/s**: how many animation frames (`requestAnimationFrame`) showed a new decision boundary (a
  checksum of 96×96 pixels sampled from its canvas differs from every recent one; a return to a recent picture is a repeat, a flicker);
- **epochs/s**: the epoch counter the page shows, at the start and the end of the window;
- **server CPU**: the dashboard process's CPU time over the window (training thread and redraws together), as a
  share of one core, and per update sent — what the figures would be on a quiet machine follows from it;
- **browser CPU ms/update**: the CPU time of Chromium's renderer processes per update (parsing, Vega, React, paint):
  the browser asks for the next update when it is done with the last, so this cost bounds the rate.

Targets (issue 8): the server sends ≥ 5 updates/s and the browser paints ≥ 3 frames/s on this 2-core machine.

`--baseline DIR` serves a second checkout of the project (e.g. `git archive main | tar -x -C DIR`) beside this one and
alternates passes between the two, so a change is measured against what it replaces under the same load.

    python bench/playground_fps.py [--seconds 10] [--speed max] [--side-by-side] [--repeats 2] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ui.serve import BROWSER_ARGS, dashboard, wait_finished  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# Counts the animation frames that show a new decision boundary: a checksum of 96×96 pixels sampled from the chart's
# canvas (the Playground asks Vega for a canvas), or, for an SVG chart, the href of its image mark. A frame showing a
# picture seen in the last 20 changes counts as a repeat instead (a blank frame between two pictures: a flicker).
PAINT_COUNTER = """
() => {
  window.__frames = 0; window.__repeats = 0; window.__last = null; const seen = [];
  const SIDE = 96, shrunk = document.createElement("canvas");
  shrunk.width = shrunk.height = SIDE;
  const small = shrunk.getContext("2d", {willReadFrequently: true});
  small.imageSmoothingEnabled = false;  // a sample of 96×96 pixels, not their average: a small change still shows
  const chart = document.querySelector("[data-testid='stVegaLiteChart']");
  const tick = () => {
    let sign = null;
    const canvas = chart.querySelector("canvas");
    if (canvas && canvas.width > 0) {
      small.drawImage(canvas, 0, 0, SIDE, SIDE);  // a copy of the whole canvas each frame would slow the page itself
      const data = small.getImageData(0, 0, SIDE, SIDE).data;
      let sum = 0;
      for (let i = 0; i < data.length; i += 1) sum = (sum * 31 + data[i]) | 0;
      sign = sum;
    } else {
      const image = chart.querySelector("image");
      sign = image ? image.getAttribute("href") : null;
    }
    if (sign !== null && window.__last !== null && sign !== window.__last) {
      if (seen.includes(sign)) window.__repeats += 1; else window.__frames += 1;
    }
    if (sign !== null && sign !== window.__last) { seen.push(sign); if (seen.length > 20) seen.shift(); }
    if (sign !== null) window.__last = sign;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
"""


def epoch_shown(page) -> int:
    text = page.locator("text=/Epoch \\d+/").first.inner_text()
    return int(re.search(r"Epoch (\d+)", text).group(1))


def server_process(url: str):
    """The `streamlit run` process `ui.serve.dashboard` started for this URL (a child of this one)."""
    import psutil  # installed with dask[distributed]

    port = url.rsplit(":", 1)[1]
    return next(p for p in psutil.Process().children(recursive=True) if "streamlit" in " ".join(p.cmdline())
                and port in p.cmdline())


def cpu_seconds(proc) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def browser_cpu_seconds() -> float:
    """CPU time of Chromium's renderer processes so far (they draw the page: its cost per update barely depends on the
    load of the machine, unlike the rates)."""
    import psutil

    total = 0.0
    for proc in psutil.Process().children(recursive=True):
        try:
            if "--type=renderer" in proc.cmdline():
                total += cpu_seconds(proc)
        except psutil.Error:  # a renderer that ended
            pass
    return total


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
    page.locator("[data-testid='stVegaLiteChart']").first.locator("canvas, svg").first.wait_for(timeout=90_000)
    page.get_by_role("button", name="Play").click()
    page.wait_for_selector("text=/playing/", timeout=30_000)
    page.wait_for_timeout(2000)  # past the first redraws (Playwright delivers WebSocket events while it waits)
    page.evaluate(PAINT_COUNTER)
    server = server_process(url)
    start_updates, start_epoch, start, start_cpu = updates[0], epoch_shown(page), time.perf_counter(), cpu_seconds(server)
    start_browser = browser_cpu_seconds()
    page.wait_for_timeout(seconds * 1000)
    end_epoch, frames, cpu = epoch_shown(page), page.evaluate("window.__frames"), cpu_seconds(server) - start_cpu
    browser_cpu = browser_cpu_seconds() - start_browser
    repeats = page.evaluate("window.__repeats")
    elapsed = time.perf_counter() - start
    sent = updates[0] - start_updates
    out = {"server updates/s": sent / elapsed, "browser frames/s": frames / elapsed,
           "epochs/s": (end_epoch - start_epoch) / elapsed, "server CPU % of a core": 100 * cpu / elapsed,
           "server CPU ms/update": 1000 * cpu / max(sent, 1), "browser CPU ms/update": 1000 * browser_cpu / max(sent, 1),
           "repeated pictures/s": repeats / elapsed}
    page.get_by_role("button", name="Pause").click()
    page.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--speed", default="max", help="epochs per second the page allows: 1, 2, 5, 10, 20, 50 or max")
    parser.add_argument("--side-by-side", action="store_true", help="two models (A, and B with L2) in two panels")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--baseline", type=Path, help="another checkout of the project, measured in alternate passes")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    if args.baseline and not (args.baseline / "dashboard.py").is_file():
        parser.error(f"--baseline: {args.baseline} holds no dashboard.py (a checkout of the project)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    roots = {"this": ROOT, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        urls = {name: stack.enter_context(dashboard({"OVERFIT_LAB_DB": str(Path(tmp) / f"{name}.db")}, root=root))
                for name, root in roots.items()}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            for i in range(args.repeats):
                for name, url in urls.items():
                    figures = measure(url, browser, args.seconds, args.speed, args.side_by_side)
                    print(f"pass {i + 1} {name} (load {os.getloadavg()[0]:.1f}): "
                          + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()), flush=True)
            browser.close()


if __name__ == "__main__":
    main()
