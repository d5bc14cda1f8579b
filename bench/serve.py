"""`sitegen serve` benchmark: rebuild-to-reload for a one-page edit of the demo network
(issue 19: <= 0.5 s).

    python bench/serve.py                     # trailhead, 20 edits per run, 3 runs
    python bench/serve.py --edits 5 --runs 1

Each run copies the demo network (sites/, content/, themes/, users.yaml) to
bench/work/serve/, starts `sitegen serve trailhead` on a free port (its first build
included), listens to the event stream as an open page does, then edits one page at a time
(its body gains a sentence; different pages in turn) and measures from the write to the
moment the page, fetched again after the `reload` event, holds the new sentence: what an
author waits for. The figure is the median over every edit of every run, with the spread of
the runs' medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.serving import EventStream, serving  # noqa: E402

PAGES = (
    ("content/guides/hiking/layering.md", "/guides/hiking/layering/"),
    ("content/news/trail-cleanup.md", "/news/trail-cleanup/"),
    ("content/care/boots/waterproofing.md", "/care/boots/waterproofing/"),
)
TARGET_SECONDS = 0.5


def copy_demo(work: Path) -> Path:
    shutil.rmtree(work, ignore_errors=True)
    for name in ("sites", "content", "themes"):
        shutil.copytree(REPO / name, work / name)
    shutil.copy(REPO / "users.yaml", work / "users.yaml")
    return work


def one_run(work: Path, edits: int) -> list[float]:
    root = copy_demo(work)
    for source, _ in PAGES:
        if not (root / source).is_file():
            raise SystemExit(f"bench/serve.py: {source} is not in the demo any more")
    seconds = []
    with serving(root, "trailhead") as served:
        stream = EventStream(served.base)
        for number in range(edits):
            source, url = PAGES[number % len(PAGES)]
            sentence = f"Edit number {number} of this run."
            path = root / source
            text = path.read_text(encoding="utf-8")
            started = time.perf_counter()
            path.write_text(text + f"\n{sentence}\n", encoding="utf-8")
            event, _ = stream.next(timeout=60)
            if event != "reload":
                raise SystemExit(f"bench/serve.py: expected a reload, got {event}")
            with urllib.request.urlopen(served.base + url, timeout=30) as response:
                body = response.read().decode()
            seconds.append(time.perf_counter() - started)
            if sentence not in body:
                raise SystemExit(f"bench/serve.py: {url} does not show the edit after reload")
            time.sleep(0.3)  # an author does not type at machine speed; let the watcher settle
        stream.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20, help="edits per run (default 20)")
    parser.add_argument("--runs", type=int, default=3, help="runs (default 3)")
    arguments = parser.parse_args()
    work = REPO / "bench/work/serve"
    medians, every = [], []
    for run in range(arguments.runs):
        seconds = one_run(work, arguments.edits)
        every += seconds
        medians.append(statistics.median(seconds))
        print(
            f"run {run + 1}: median {medians[-1]:.3f} s "
            f"(min {min(seconds):.3f}, max {max(seconds):.3f}) over {len(seconds)} edits"
        )
    median = statistics.median(every)
    print(
        f"rebuild-to-reload, one-page edit of the demo: median {median:.3f} s over "
        f"{len(every)} edits; runs' medians {min(medians):.3f}-{max(medians):.3f} s; "
        f"ratio to the target {median / TARGET_SECONDS:.2f} (target <= {TARGET_SECONDS} s: "
        f"{'met' if median <= TARGET_SECONDS else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
