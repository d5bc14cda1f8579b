"""Lighthouse 12.2.3 (mobile preset) against the demo network's trailhead, built and served
by a real Apache with its generated .htaccess: the home page, an article with images, and a
variant page.

    cd bench/work/lighthouse && npm i -E lighthouse@12.2.3   # once
    python bench/lighthouse.py

Targets (issue 6): performance >= 98, CLS 0, accessibility >= 95.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "bench/work/lighthouse/node_modules/.bin/lighthouse"
CHROME_FLAGS = ("--headless --no-sandbox --disable-gpu --disable-background-networking "
                "--no-first-run")
PAGES = {
    "home": "/",
    "article with images": "/guides/hiking/breaking-in-boots/",
    "variant page": "/_variants/repair-cta-repair/guides/hiking/breaking-in-boots/",
}


def main() -> int:
    if not LIGHTHOUSE.exists():
        raise SystemExit(f"{LIGHTHOUSE} is missing: cd bench/work/lighthouse && "
                         "npm i -E lighthouse@12.2.3")
    sys.path.insert(0, str(ROOT))
    from tests.apache import apache

    with tempfile.TemporaryDirectory() as folder:
        build = Path(folder) / "build"
        subprocess.run([str(Path(sys.executable).with_name("sitegen")), "--root", str(ROOT),
                        "build", "trailhead", "--quiet", "--out", str(build)], check=True)
        rows = []
        with apache(build / "trailhead") as base:
            for label, path in PAGES.items():
                report = Path(folder) / "report.json"
                subprocess.run(
                    [str(LIGHTHOUSE), base + path, "--quiet", "--output=json",
                     f"--output-path={report}", "--only-categories=performance,accessibility",
                     f"--chrome-flags={CHROME_FLAGS}"],
                    check=True, env={**os.environ, "CHROME_PATH": "/usr/bin/chromium"})
                result = json.loads(report.read_text())
                audits = result["audits"]
                rows.append((label, path,
                             round(result["categories"]["performance"]["score"] * 100),
                             round(result["categories"]["accessibility"]["score"] * 100),
                             audits["cumulative-layout-shift"]["numericValue"],
                             audits["largest-contentful-paint"]["numericValue"] / 1000,
                             audits["total-blocking-time"]["numericValue"]))
    chrome = result["environment"]["hostUserAgent"].split("Chrome/")[1].split()[0]
    print(f"Lighthouse {result['lighthouseVersion']}, "
          f"{result['configSettings']['formFactor']} preset, Chromium {chrome}")
    print("| page | performance | accessibility | CLS | LCP s | TBT ms |")
    print("|---|---|---|---|---|---|")
    for label, path, performance, accessibility, cls, lcp, tbt in rows:
        print(f"| {label} (`{path}`) | {performance} | {accessibility} | {cls:.3f} | "
              f"{lcp:.2f} | {tbt:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
