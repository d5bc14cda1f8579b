"""Lighthouse 12.2.3 (mobile preset, all four categories) against the demo network, built
and served by a real Apache with its generated .htaccess, as a new visitor (a fresh profile,
a browser's user agent: Lighthouse's own is on the crawler list, and crawlers are never
enrolled). Both throttling methods; the first view of a page under an experiment is compared
with the same page built with the experiment in draft.

    (cd bench/work/lighthouse && npm i -E lighthouse@12.2.3)   # once
    .venv/bin/python bench/lighthouse.py [--runs 3] [--all]

`--all` audits every page of every demo site (slow); by default a sample of each kind.
Targets (issue 11): SEO >= 95, performance >= 98 with both methods, CLS 0, no
document.write; the experiment page's FCP within 10% of the same page without it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "bench/work/lighthouse/node_modules/.bin/lighthouse"
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run"
)
VISITOR = (
    "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36"
)
"""Lighthouse's mobile agent without its `Chrome-Lighthouse` token."""
SAMPLE = {
    "trailhead": ["/", "/guides/hiking/breaking-in-boots/", "/care/", "/news/"],
    "harbor": ["/"],
}
EXPERIMENT_PAGE = ("trailhead", "/guides/hiking/breaking-in-boots/")
"""A page under the running repair-cta experiment, measured again with it in draft."""
METHODS = ("simulate", "devtools")


def build(root: Path, out: Path) -> None:
    subprocess.run(
        [
            str(Path(sys.executable).with_name("sitegen")),
            "--root",
            str(root),
            "build",
            "--quiet",
            "--out",
            str(out),
        ],
        check=True,
    )


def pages_of(site: Path) -> list[str]:
    manifest = json.loads(
        (site.parent / ".sitegen/sites" / site.name / "manifest.json").read_text()
    )
    protected = [
        path.parent.relative_to(site).as_posix() + "/"
        for path in site.rglob(".htaccess")
        if path.parent != site and "AuthType" in path.read_text()
    ]
    urls = []
    for path, entry in manifest["files"].items():
        if entry["kind"] == "page" and path.endswith("index.html"):
            # Pages behind a login (users.yaml) are not what a new visitor or a crawler sees.
            if not any(path.startswith(folder) for folder in protected):
                urls.append("/" + path[: -len("index.html")])
    return sorted(urls)


def audit(url: str, method: str, folder: Path) -> dict[str, float]:
    report = folder / "report.json"
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={report}",
            "--only-categories=performance,accessibility,best-practices,seo",
            f"--throttling-method={method}",
            f"--emulated-user-agent={VISITOR}",
            f"--chrome-flags={CHROME_FLAGS}",
        ],
        check=True,
        env={**os.environ, "CHROME_PATH": "/usr/bin/chromium"},
    )
    result = json.loads(report.read_text())
    categories = result["categories"]
    audits = result["audits"]
    return {
        "performance": categories["performance"]["score"] * 100,
        "accessibility": categories["accessibility"]["score"] * 100,
        "best-practices": categories["best-practices"]["score"] * 100,
        "seo": categories["seo"]["score"] * 100,
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "fcp": audits["first-contentful-paint"]["numericValue"] / 1000,
        "lcp": audits["largest-contentful-paint"]["numericValue"] / 1000,
        "tbt": audits["total-blocking-time"]["numericValue"],
        "document.write": 0.0 if audits["no-document-write"]["score"] == 1 else 1.0,
        "crawlable": audits["is-crawlable"]["score"] * 100,
        "console errors": 0.0 if audits["errors-in-console"]["score"] == 1 else 1.0,
    }


def summary(values: list[float], digits: int) -> str:
    """Median, and the range when runs differ."""
    median = round(statistics.median(values), digits)
    low, high = round(min(values), digits), round(max(values), digits)
    text = f"{median:.{digits}f}"
    return text if low == high else f"{text} ({low:.{digits}f}-{high:.{digits}f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--all", action="store_true", help="every page of every site")
    parser.add_argument(
        "--page",
        action="append",
        default=[],
        metavar="SITE:PATH",
        help="audit these pages instead of the sample (repeatable)",
    )
    parser.add_argument(
        "--method",
        choices=(*METHODS, "both"),
        default="both",
        help="throttling method (two processes, one per method, halve the "
        "time of --all on two cores)",
    )
    options = parser.parse_args()
    methods = METHODS if options.method == "both" else (options.method,)
    if not LIGHTHOUSE.exists():
        raise SystemExit(
            f"{LIGHTHOUSE} is missing: (cd bench/work/lighthouse && npm i -E lighthouse@12.2.3)"
        )
    sys.path.insert(0, str(ROOT))
    from tests.apache import apache

    rows = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        build(ROOT, folder / "build")
        # The same network with the experiment in draft, for the FCP comparison.
        draft = folder / "draft"
        shutil.copytree(
            ROOT,
            draft,
            ignore=shutil.ignore_patterns(
                ".git", ".venv", "build", "bench", ".servers", "node_modules"
            ),
        )
        config = draft / "sites" / EXPERIMENT_PAGE[0] / "site.yaml"
        config.write_text(config.read_text().replace("status: running", "status: draft"))
        build(draft, folder / "draft-build")
        sites: dict[str, list[str]] = dict(SAMPLE)
        if options.page:
            sites = {}
            for item in options.page:
                site, _, path = item.partition(":")
                sites.setdefault(site, []).append(path)
        if options.all:
            sites = {
                site.name: pages_of(site)
                for site in sorted((folder / "build").iterdir())
                if site.is_dir() and not site.name.startswith(".")
            }
        targets = [
            (site, page, folder / "build" / site) for site, pages in sites.items() for page in pages
        ]
        targets.append(
            (
                EXPERIMENT_PAGE[0] + " (experiment in draft)",
                EXPERIMENT_PAGE[1],
                folder / "draft-build" / EXPERIMENT_PAGE[0],
            )
        )
        for site, page, docroot in targets:
            with apache(docroot) as base:
                for method in methods:
                    runs = [audit(base + page, method, folder) for _ in range(options.runs)]
                    rows.append((site, page, method, runs))
                    print(
                        f"{site} {page} {method}: "
                        + ", ".join(
                            f"{key} {summary([run[key] for run in runs], 2)}"
                            for key in (
                                "performance",
                                "accessibility",
                                "best-practices",
                                "seo",
                                "cls",
                                "fcp",
                                "document.write",
                                "console errors",
                            )
                        ),
                        file=sys.stderr,
                        flush=True,
                    )
    print(
        f"Lighthouse 12.2.3, mobile preset, {options.runs} runs each (median, range), "
        "as a new visitor with a browser's user agent"
    )
    print(
        "| site | page | throttling | perf | a11y | best pr. | SEO | CLS | FCP s | LCP s "
        "| TBT ms | document.write | console errors |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for site, page, method, runs in rows:
        cells = [
            summary([run[key] for run in runs], digits)
            for key, digits in (
                ("performance", 0),
                ("accessibility", 0),
                ("best-practices", 0),
                ("seo", 0),
                ("cls", 3),
                ("fcp", 2),
                ("lcp", 2),
                ("tbt", 0),
                ("document.write", 0),
                ("console errors", 0),
            )
        ]
        print(f"| {site} | `{page}` | {method} | " + " | ".join(cells) + " |")
    for method in methods:
        fcp = {
            site: statistics.median(run["fcp"] for run in runs)
            for site, page, m, runs in rows
            if m == method and page == EXPERIMENT_PAGE[1]
        }
        live = fcp.get(EXPERIMENT_PAGE[0])
        plain = fcp.get(EXPERIMENT_PAGE[0] + " (experiment in draft)")
        if live and plain:
            print(
                f"first-view FCP of {EXPERIMENT_PAGE[1]} ({method}): {live:.2f} s with the "
                f"experiment, {plain:.2f} s without: ratio {live / plain:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
