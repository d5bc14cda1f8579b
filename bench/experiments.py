"""Experiments benchmark: `sitegen experiments status` for 50 experiments over 1,000,000
exposure events, wall time and peak memory of the command, against the targets (<= 5 s,
<= 1 GiB; issue 13).

    python bench/experiments.py                 # 50 experiments, 1,000,000 exposures, 3 runs
    python bench/experiments.py --events 100000 --runs 1

A project with one site and 50 running experiments (two arms each, one page goal) is written
under bench/work/experiments/; its events store gets the exposure views (every visitor sees
four experiment pages) and goal events for about 5% of exposures, inserted directly.
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

from generator.analytics.store import EventStore  # noqa: E402

T0 = 1_780_000_000
INSERT = (
    "INSERT INTO events (id, site, time, type, page, variant, build, visitor, session, detail,"
    " segments, source, client_ms, ingest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def write_project(root: Path, experiments: int) -> None:
    shutil.rmtree(root, ignore_errors=True)
    (root / "sites/lab").mkdir(parents=True)
    (root / "content/pages").mkdir(parents=True)
    entries = []
    for number in range(experiments):
        (root / f"content/pages/p{number}.md").write_text(f"---\ntitle: P{number}\n---\nText.\n")
        entries.append(
            f"  e{number}:\n    arms: {{control: 0.5, treatment: 0.5}}\n"
            f"    pages: [/pages/p{number}/]\n    status: running\n"
            f"    goals:\n      - page: /pages/p{(number + 1) % experiments}/\n"
        )
    (root / "content/pages/index.md").write_text("---\ntitle: Pages\n---\nAll.\n")
    (root / "sites/lab/site.yaml").write_text(
        "title: Lab\nbase_url: https://lab.test/\ntheme: base\npools:\n  pages: {}\n"
        "experiments:\n" + "".join(entries)
    )
    themes = Path(__file__).resolve().parent.parent / "themes"
    shutil.copytree(themes, root / "themes")


def write_events(store_path: Path, experiments: int, events: int, seed: int) -> None:
    store_path.parent.mkdir(parents=True, exist_ok=True)
    EventStore(store_path).close()  # the schema
    rng = random.Random(seed)
    connection = sqlite3.connect(store_path)
    rows: list[tuple[object, ...]] = []
    visitors = events // 4
    for visitor in range(visitors):
        session = f"s{visitor}"
        moment = T0 + rng.random() * 14 * 86400
        for _ in range(4):
            number = rng.randrange(experiments)
            arm = "control" if rng.random() < 0.5 else "treatment"
            rows.append(
                (
                    f"v{visitor}-{len(rows)}",
                    "lab",
                    moment,
                    "view",
                    f"/pages/p{number}/",
                    f"e{number}-{arm}",
                    "",
                    f"u{visitor}",
                    session,
                    "",
                    "",
                    "pixel",
                    0,
                    1,
                )
            )
            moment += rng.uniform(5, 300)
            if rng.random() < 0.05:
                rows.append(
                    (
                        f"g{visitor}-{len(rows)}",
                        "lab",
                        moment,
                        "goal",
                        "/",
                        "",
                        "",
                        f"u{visitor}",
                        session,
                        f"e{number}:pages-p{(number + 1) % experiments}",
                        "",
                        "pixel",
                        0,
                        1,
                    )
                )
        if len(rows) > 200_000:
            connection.executemany(INSERT, rows)
            rows = []
    connection.executemany(INSERT, rows)
    connection.commit()
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiments", type=int, default=50)
    parser.add_argument("--events", type=int, default=1_000_000, help="exposure views")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "work")
    arguments = parser.parse_args()
    root = arguments.work / "experiments"
    print(f"writing {arguments.experiments} experiments and {arguments.events:,} exposures ...")
    write_project(root, arguments.experiments)
    write_events(root / "build/.sitegen/events.sqlite", arguments.experiments, arguments.events, 7)
    command = [
        sys.executable,
        "-m",
        "generator.cli",
        "--root",
        str(root),
        "experiments",
        "status",
        "lab",
        "--json",
    ]
    runs = [measure(command, root) for _ in range(arguments.runs)]
    seconds = [run.seconds for run in runs]
    peak = max(run.peak_bytes for run in runs) / 2**30
    median = statistics.median(seconds)
    print(
        f"{arguments.runs} runs: median {median:.2f} s (range {min(seconds):.2f}-"
        f"{max(seconds):.2f}), peak {peak:.2f} GiB"
    )
    print(
        f"target <= 5 s: {'met' if median <= 5 else 'NOT met'}; "
        f"<= 1 GiB: {'met' if peak <= 1 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
