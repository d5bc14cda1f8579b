"""Analytics benchmark: `sitegen report` and `sitegen analytics db check` on a network of 10
sites with 5,000,000 events, wall time and peak memory, against the targets of issue 16
(report <= 30 s and <= 2 GiB; db check <= 5 s).

    python bench/analytics.py                       # 10 sites, 5,000,000 events, 3 runs
    python bench/analytics.py --events 500000 --runs 1

The project (10 sites publishing one shared pool of 60 pages, three segments defined at the
root) is written under bench/work/analytics/; its events store gets the events directly:
about 90% page views in visits of 1-8 pages, 5% goals, 5% recommendation clicks, with
segments, referrers, campaigns and devices. The store is kept between runs of the script
when its size matches (writing 5,000,000 events takes a minute or two).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import measure  # noqa: E402

from generator.analytics import visits  # noqa: E402
from generator.analytics.store import EventStore  # noqa: E402
from generator.events import EVENTS_INSERT, SCHEMA_VERSION  # noqa: E402

T0 = 1_780_000_000
SITES = [f"s{n}" for n in range(10)]
PAGES = [f"/guides/g{n}/" for n in range(60)]
SEGMENTS = ["newsletter", "returning", "mobile"]


def write_project(root: Path) -> None:
    for folder in ("sites", "content", "themes"):
        shutil.rmtree(root / folder, ignore_errors=True)
    (root / "content/guides").mkdir(parents=True)
    for number in range(60):
        (root / f"content/guides/g{number}.md").write_text(
            f"---\ntitle: Guide {number}\n---\nText.\n"
        )
    (root / "content/guides/index.md").write_text("---\ntitle: Guides\n---\nAll.\n")
    (root / "sites/root").mkdir(parents=True)
    (root / "sites/root/site.yaml").write_text(
        "abstract: true\ntheme: base\npools:\n  guides: {}\nsegments:\n"
        "  newsletter:\n    condition: {utm.source: newsletter}\n"
        "  returning:\n    condition: {visits: {$gte: 2}}\n"
        "  mobile:\n    condition: {device: mobile}\n"
    )
    for site in SITES:
        (root / f"sites/{site}").mkdir()
        (root / f"sites/{site}/site.yaml").write_text(
            f"extends: root\ntitle: {site}\nbase_url: https://{site}.example.com/\n"
        )
    shutil.copytree(Path(__file__).resolve().parent.parent / "themes", root / "themes")


def write_events(path: Path, events: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    EventStore(path).close()
    rng = random.Random(seed)
    connection = sqlite3.connect(path)
    rows: list[tuple[object, ...]] = []
    written = visitor = 0
    while written < events:
        visitor += 1
        site = rng.choice(SITES)
        device = rng.choice(["desktop", "desktop", "mobile", "tablet"])
        segments = ".".join(s for s in SEGMENTS if rng.random() < 0.3)
        moment = T0 + rng.random() * 28 * 86400
        for visit in range(rng.choice([1, 1, 1, 2, 3])):
            session = f"s{visitor}-{visit}"
            referrer = rng.choice(["", "", "www.google.com", "news.example.org"])
            utm = rng.choice(["", "", "", "newsletter"])
            for step in range(rng.randint(1, 8)):
                kind = rng.random()
                event = "goal" if kind < 0.05 else "rec" if kind < 0.10 else "view"
                page = rng.choice(PAGES)
                rows.append(
                    (
                        f"e{written}",
                        site,
                        moment,
                        event,
                        page,
                        "",
                        "b1",
                        f"v{visitor}",
                        session,
                        rng.choice(PAGES) if event == "rec" else "",
                        "pixel",
                        segments,
                        0,
                        referrer if step == 0 else "",
                        utm if step == 0 else "",
                        device,
                        1,
                    )
                )
                written += 1
                moment += rng.uniform(5, 240)
            moment += rng.uniform(3600, 5 * 86400)
        if len(rows) >= 200_000:
            EVENTS_INSERT.many(connection, rows)
            rows = []
    EVENTS_INSERT.many(connection, rows)
    connection.execute("INSERT INTO ingests VALUES (1, 's0', 'bench', 0, 0, 0, 0, 0, 0)")
    visits.rebuild(connection)  # what ingest keeps up to date, for all at once
    connection.commit()
    connection.close()


def summary(name: str, runs: list[object], target_seconds: float, target_gib: float) -> None:
    seconds = [run.seconds for run in runs]  # type: ignore[attr-defined]
    peak = max(run.peak_bytes for run in runs) / 2**30  # type: ignore[attr-defined]
    median = statistics.median(seconds)
    print(
        f"{name}: {len(runs)} runs, median {median:.2f} s (range {min(seconds):.2f}-"
        f"{max(seconds):.2f}), peak {peak:.2f} GiB; ratio to the {target_seconds:g} s target "
        f"{median / target_seconds:.2f} ({'met' if median <= target_seconds else 'NOT met'})"
        + (
            f", to {target_gib:g} GiB {peak / target_gib:.2f} "
            f"({'met' if peak <= target_gib else 'NOT met'})"
            if target_gib
            else ""
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "work")
    arguments = parser.parse_args()
    root = arguments.work / "analytics"
    write_project(root)
    store = root / "build/.sitegen/events.sqlite"
    marker = root / "build/.sitegen/bench-events"
    wanted = f"{arguments.events} events, schema {SCHEMA_VERSION}"
    if not store.exists() or not marker.exists() or marker.read_text() != wanted:
        print(f"writing {arguments.events:,} events for {len(SITES)} sites ...")
        write_events(store, arguments.events, 11)
        marker.write_text(wanted)
    python = [sys.executable, "-m", "generator.cli", "--root", str(root)]
    check = [measure([*python, "analytics", "db", "check"], root, (0, 1))]
    check += [measure([*python, "analytics", "db", "check"], root, (0, 1)) for _ in range(2)]
    reports = []
    for number in range(arguments.runs):
        out = root / f"report-{number}"
        shutil.rmtree(out, ignore_errors=True)
        reports.append(measure([*python, "report", "--out", str(out)], root))
    summary("db check", check, 5, 0)
    summary("report", reports, 30, 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
