"""Recommendation benchmark: related and next pages for 10,000 pages from 1,000,000 view
events (sessionised), wall time and peak memory, against the targets (<= 10 s, <= 2 GiB).

    python bench/recommend.py
    python bench/recommend.py --pages 2000 --events 200000
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import WORDS  # noqa: E402

from generator.content.page import Page  # noqa: E402
from generator.content.sources import Source  # noqa: E402
from generator.errors import Location  # noqa: E402, F401
from generator.recommend.related import recommend, sessionise  # noqa: E402


def synthetic_pages(count: int, rng: random.Random) -> list[Page]:
    """Pages whose words follow Zipf's law over a 20,000-word vocabulary, as real text does
    (a few words everywhere, most words rare)."""
    vocabulary = [f"{rng.choice(WORDS)}{n}" for n in range(20_000)]
    weights = [1.0 / (rank + 1) for rank in range(len(vocabulary))]
    pages = []
    for number in range(count):
        body = " ".join(rng.choices(vocabulary, weights, k=300))
        tags = tuple(f"t{rng.randrange(200)}" for _ in range(3))
        source = Source(
            path=Path(f"/bench/{number}.md"),
            display=f"{number}.md",
            digest=f"{number:064x}",
            title=f"Page {number} {rng.choice(WORDS)}",
            date=dt.date(2026, 1, 1),
            tags=tags,
            summary=None,
            slug=None,
            draft=False,
            template=None,
            weight=0,
            image=None,
            sites=(),
            not_sites=(),
            meta={},
            body_start=0,
            body_line=1,
        )
        source.__dict__["body"] = body
        pages.append(Page(f"p/{number}", source, "p", f"/p/{number}/", "p", False))
    return pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    arguments = parser.parse_args()
    rng = random.Random(11)
    pages = synthetic_pages(arguments.pages, rng)
    views: list[tuple[str, str, float, str]] = []
    moment = 1780000000.0
    visitor = 0
    while len(views) < arguments.events:
        visitor += 1
        current = rng.randrange(arguments.pages)
        for _ in range(rng.randrange(1, 9)):
            views.append((f"v{visitor}", f"s{visitor}", moment, pages[current].key))
            moment += 1
            # browsing stays near: pages with nearby numbers share readers
            current = min(arguments.pages - 1, max(0, current + rng.randrange(-20, 21)))
    views = views[: arguments.events]
    started = time.perf_counter()
    sessions = sessionise(views)
    found = recommend(pages, sessions, 5)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    filled = sum(1 for related in found.related.values() if related)
    print(
        f"{arguments.pages} pages, {len(views)} events, {len(sessions)} sessions: "
        f"{seconds:.1f} s (target <= 10 s), peak memory {peak:.2f} GiB (target <= 2 GiB); "
        f"{filled} pages with related pages"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
