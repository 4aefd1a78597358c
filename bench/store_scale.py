"""How the store, the CLI and the dashboard grow with the number of stored runs (issue 14).

For each N (1,000, 10,000 and 100,000 runs, made by bench/make_store.py through the store's own API): the store's
size on disk; `python -m core runs --study S --format csv` and `python -m core export --study S --format csv` as
fresh processes (wall seconds from start-up to exit, output to /dev/null; S is the study with the most runs); the
Runs page and Home in headless Chromium against a warm server (each page visited once first, then the best of
`--repeats` fresh loads, each from navigation to Streamlit's `notRunning`); and the dashboard process's resident
memory after those visits. Each figure is printed with its growth factor per 10x runs.

Targets: Runs page and Home settle within 2 s at 10,000 runs and 4 s at 100,000; the dashboard stays under 1.5 GB
resident at 100,000 runs; `runs --study S --format csv` at 100,000 runs within 3 s; at most 20 KB per run.

    python bench/store_scale.py [--sizes 1000 10000 100000] [--dir /tmp/store-scale] [--repeats 2] [--reuse]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from make_store import make_store  # noqa: E402
from ui.serve import BROWSER_ARGS, dashboard, wait_finished  # noqa: E402

PAGE_TIMEOUT_S = 180  # a page slower than this is reported as "> 180 s"


def store_size(path: Path) -> int:
    """Bytes on disk of the store file with its WAL (checkpointed first, so the file holds everything)."""
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())


def biggest_study(path: Path) -> str:
    import sqlite3

    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT study FROM runs GROUP BY study ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0]
    finally:
        con.close()


def cli_seconds(args: list[str], db: Path) -> float:
    """Wall seconds of `python -m core ARGS --db DB` from start-up to exit, stdout to /dev/null."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "core", *args, "--db", str(db)], cwd=ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"core {' '.join(args)} failed: {done.stderr[-500:]}")
    return seconds


def dashboard_rss() -> int:
    """Resident bytes of the streamlit server started by `dashboard` (a child of this process) and its children."""
    import psutil

    total = 0
    for child in psutil.Process().children(recursive=True):
        try:
            if "streamlit" in " ".join(child.cmdline()):
                total += child.memory_info().rss + sum(c.memory_info().rss for c in child.children(recursive=True))
        except psutil.Error:
            pass
    return total


def page_seconds(browser, url: str) -> float:
    """Seconds from navigation to the script's end, in a fresh browser context (a new session)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        start = time.perf_counter()
        page.goto(url, wait_until="domcontentloaded")
        wait_finished(page, timeout_ms=PAGE_TIMEOUT_S * 1000)
        seconds = time.perf_counter() - start
        if page.locator("[data-testid='stException']").count():
            raise RuntimeError(f"{url} shows an exception: {page.locator('[data-testid=stException]').first.inner_text()[:500]}")
        return seconds
    finally:
        context.close()


def pages(db: Path, repeats: int) -> dict[str, float]:
    """Runs page and Home (warm server: each visited once first), best of `repeats`; the server's RSS afterwards."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    out: dict[str, float] = {}
    with dashboard({"OVERFIT_LAB_DB": str(db)}, timeout=120) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        for name, path in (("runs page", "/runs"), ("home", "/")):
            times = []
            for _ in range(repeats + 1):  # the first visit warms the server (imports, caches): not counted
                try:
                    times.append(page_seconds(browser, url + path))
                except PlaywrightTimeout:
                    times.append(float("inf"))
            out[name] = min(times[1:])
        out["dashboard RSS MB"] = dashboard_rss() / 1e6
        browser.close()
    return out


def fmt(value: float) -> str:
    return f"> {PAGE_TIMEOUT_S} s" if value == float("inf") else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--dir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "store-scale"))
    parser.add_argument("--repeats", type=int, default=2, help="timed page loads after the warming one (best is shown)")
    parser.add_argument("--reuse", action="store_true", help="keep a store already made at --dir for that size")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (figures are noisy when it is above the cores)")
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, float]] = []
    for n in args.sizes:
        db = folder / f"store-{n}.db"
        row: dict[str, float] = {"runs": n}
        if not (args.reuse and db.exists()):
            start = time.perf_counter()
            make_store(db, n)
            row["make_store s"] = time.perf_counter() - start
        size = store_size(db)
        row["store MB"], row["KB per run"] = size / 1e6, size / n / 1024
        study = biggest_study(db)
        row["runs --study csv s"] = cli_seconds(["runs", "--study", study, "--format", "csv"], db)
        row["export --study csv s"] = cli_seconds(["export", "--study", study, "--format", "csv"], db)
        row.update({f"{k} s" if "MB" not in k else k: v for k, v in pages(db, args.repeats).items()})
        rows.append(row)
        print(f"N={n} (study {study}): " + ", ".join(f"{k} {fmt(v)}" for k, v in row.items() if k != "runs"), flush=True)
    keys = [k for k in rows[0] if k != "runs"]
    print("\n| figure | " + " | ".join(f"{r['runs']:,} runs" for r in rows) + " | growth per 10x |")
    print("|---|" + "---|" * (len(rows) + 1))
    for k in keys:
        cells = [fmt(r[k]) if k in r else "—" for r in rows]
        growth = []
        for a, b in zip(rows, rows[1:]):
            if k in a and k in b and a[k] and b["runs"] == 10 * a["runs"] and a[k] != float("inf") and b[k] != float("inf"):
                growth.append(f"{b[k] / a[k]:.1f}x")
        print(f"| {k} | " + " | ".join(cells) + f" | {', '.join(growth) or '—'} |")
    print("\ntargets: runs page & home <= 2 s at 10,000 and <= 4 s at 100,000; dashboard < 1500 MB at 100,000; "
          "runs --study csv <= 3 s at 100,000; <= 20 KB per run")


if __name__ == "__main__":
    main()
