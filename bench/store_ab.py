"""The store-scale figures of two versions side by side: this checkout against another (e.g. `git archive <commit> |
tar -x -C /tmp/before`), on the same stores, in turn, so a busy machine slows both alike.

For each store (made by bench/store_scale.py or bench/make_store.py): `python -m core runs --study S --format csv`
of each version in turn, then one warm server per version with the Runs page and Home visited in turn (each page
visited once first), `--repeats` times each; prints the medians, the best, and before/after.

    python bench/store_ab.py --base /tmp/before [--dir /tmp/store-scale] [--sizes 1000 10000 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from store_scale import biggest_study, page_seconds  # noqa: E402
from ui.serve import BROWSER_ARGS, dashboard  # noqa: E402


def cli_seconds(root: Path, db: Path, study: str) -> float:
    """Wall seconds of the version in `root`'s `runs --study STUDY --format csv`, output to /dev/null."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "core", "runs", "--study", study, "--format", "csv", "--db", str(db)], cwd=root,
                   stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="folder holding the other version's code")
    parser.add_argument("--dir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "store-scale"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    versions = {"before": Path(args.base).resolve(), "after": ROOT}
    for n in args.sizes:
        db = Path(args.dir) / f"store-{n}.db"
        study = biggest_study(db)
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.repeats):
            for name, root in versions.items():
                times.setdefault(("runs --study csv", name), []).append(cli_seconds(root, db, study))
        env = {"OVERFIT_LAB_DB": str(db)}
        with sync_playwright() as p, dashboard(env, 120, versions["before"]) as before, dashboard(env, 120, ROOT) as after:
            browser = p.chromium.launch(args=BROWSER_ARGS, **({"executable_path": "/usr/bin/chromium"} if Path("/usr/bin/chromium").exists() else {}))
            urls = {"before": before, "after": after}
            for url in urls.values():  # warm: imports and caches
                page_seconds(browser, url + "/runs")
                page_seconds(browser, url + "/")
            for _ in range(args.repeats):
                for label, path in (("runs page", "/runs"), ("home", "/")):
                    for name, url in urls.items():
                        times.setdefault((label, name), []).append(page_seconds(browser, url + path))
            browser.close()
        print(f"N={n} (study {study}), load average {os.getloadavg()[0]:.1f}:")
        for label in ("runs --study csv", "runs page", "home"):
            b, a = times[(label, "before")], times[(label, "after")]
            print(f"  {label:17} before {statistics.median(b):.2f} s (best {min(b):.2f}), after {statistics.median(a):.2f} s "
                  f"(best {min(a):.2f}): {statistics.median(b) / statistics.median(a):.2f}x", flush=True)


if __name__ == "__main__":
    main()
