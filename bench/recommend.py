"""Recommendation benchmark: related and next pages for 10,000 pages from 1,000,000 view
events, as a build computes them (sessions, content neighbours, lists), wall time and peak
memory against issue 17's targets (<= 4 s, <= 1 GiB): for a first build, which computes the
content model, and for a build after an ingest, which keeps it (the pages did not change).

    python bench/recommend.py
    python bench/recommend.py --pages 2000 --events 200000 --runs 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import WORDS  # noqa: E402

from generator.content.page import Page  # noqa: E402
from generator.content.sources import Source  # noqa: E402
from generator.errors import Location  # noqa: E402, F401
from generator.recommend.neighbours import ContentModel, update  # noqa: E402
from generator.recommend.related import (  # noqa: E402
    recommend,
    sessionise,
    training_of_views,
)


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
    parser.add_argument("--runs", type=int, default=3)
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
    cold, warm = [], []
    for _ in range(arguments.runs):
        cold.append(timed(pages, views, None)[0])
    _, model = timed(pages, views, None)
    for _ in range(arguments.runs):
        warm.append(timed(pages, views, model)[0])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    found = recommend(pages, sessionise(views), 5, model.neighbours(10))
    filled = sum(1 for related in found.related.values() if len(related) == 5)
    print(
        f"{arguments.pages} pages, {len(views)} events; peak memory {peak:.2f} GiB "
        f"(target <= 1 GiB); {filled} pages with 5 related pages"
    )
    for name, seconds in (
        ("first build (content model computed)", cold),
        ("build after an ingest (content model kept)", warm),
    ):
        print(
            f"{name}: median {statistics.median(seconds):.2f} s over {len(seconds)} runs "
            f"(range {min(seconds):.2f}-{max(seconds):.2f}; target <= 4 s)"
        )
    return 0


def timed(
    pages: list[Page], views: list[tuple[str, str, float, str]], previous: ContentModel | None
) -> tuple[float, ContentModel]:
    """What a build does for the site's lists: sessions from the views, content neighbours
    (from scratch, or updated from the last build's model), then the lists."""
    started = time.perf_counter()
    training = training_of_views(views, {page.key: row for row, page in enumerate(pages)})
    model = update(pages, 10, previous)
    recommend(pages, training, 5, model.neighbours(10))
    return time.perf_counter() - started, model


if __name__ == "__main__":
    sys.exit(main())
