"""Recommendations for one site at build time: its pages, and its visitors' sessions from the
events store (if there is one)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from generator import __version__
from generator import events as q
from generator.config.model import SiteConfig
from generator.content.gates import publishes
from generator.content.index import SiteContent
from generator.content.page import Page
from generator.events import snapshot
from generator.files import replace_text
from generator.layout import BuildLayout
from generator.recommend.lists import Recommendations

View = tuple[str, str, float, str, str]
"""(visitor, session, time, page URL, segments) of one page view."""


def page_views(store: Path, site: str) -> list[View]:
    """Every stored page view of the site, in time order."""
    if not store.exists():
        return []
    # Read-only, one snapshot: a build never changes the events store, nor waits for an ingest.
    with snapshot(store) as connection:
        return [(row[0], row[1], row[2], row[3], row[4]) for row in q.PAGE_VIEWS(connection, site)]


def admitted_by(site: SiteConfig, page: Page) -> bool:
    """Would `site` itself let this page (of another site) through? A page of a pool the
    site publishes must pass the site's gate and the page's own sites/not_sites; a page of
    a pool the site does not publish, or another site's own page, is not gated by it."""
    relative = page.key[len(page.pool) + 1 :] if page.pool else page.key
    return not page.source.draft and publishes(site, page.pool, relative, page.source)


def foreign_candidates(
    site: SiteConfig, sources: dict[str, tuple[SiteConfig, SiteContent]], own: SiteContent
) -> list[Page]:
    """Pages of the source sites the recommending site may show: absolute URLs, keyed by
    their site, never one the site itself publishes or its gates exclude."""
    own_keys = {page.key for page in own.pages}
    found = []
    for name, (source, content) in sorted(sources.items()):
        for page in content.pages:
            if page.key in own_keys or not admitted_by(site, page):
                continue
            found.append(
                replace(page, key=f"{name}:{page.key}", url=source.base_url.rstrip("/") + page.url)
            )
    return found


def site_recommendations(
    site: SiteConfig,
    content: SiteContent,
    layout: BuildLayout,
    sources: dict[str, tuple[SiteConfig, SiteContent]],
    to_save: list[Callable[[], None]],
    fresh: bool = False,
) -> Recommendations | None:
    """The site's lists; what should be cached for the next build is appended to `to_save`,
    to be written only if this build succeeds (a failed build writes nothing). `fresh`
    (`build --clean`) computes everything again, trusting nothing the last build kept."""
    if not site.recommendations.enabled:
        return None
    foreign = foreign_candidates(site, sources, content)
    candidates = [*content.pages, *foreign]
    count = site.recommendations.count
    # The environment's own store: production's, or (staging) its sanitized copy.
    views = page_views(layout.events_of(site.environment), site.name)
    # The lists are a pure function of the pages' text and the views: when neither changed
    # (a template, style or config edit), the last build's lists are reused as they are.
    inputs = _inputs_key(candidates, views, count)
    cache = layout.recommendations(site.name)
    cached = None if fresh else _load_cached(cache, inputs)
    if cached is None:
        # numpy and scipy take 0.17 s to import: only a build that recommends pays for them.
        from generator.recommend import neighbours
        from generator.recommend.related import recommend, training_of_views

        # Content neighbours are updated from the last build's, not computed again.
        model_path = layout.content_model(site.name)
        previous = None if fresh else neighbours.load(model_path)
        model = neighbours.update(candidates, count * 2, previous)
        to_save.append(lambda: model.save(model_path))
        by_url = {page.url: page.key for page in content.pages}
        # Views name pages by URL; only the site's own pages (the first candidates) have any.
        rows = {page.url: row for row, page in enumerate(content.pages)}
        found = recommend(
            candidates, training_of_views(views, rows), count, model.neighbours(count * 2)
        )
        computed: Lists = (
            found.related,
            found.next_pages,
            popularity(views, by_url, count),
            found.next_chances,
        )
        to_save.append(lambda: _save_cached(cache, inputs, computed))
        cached = computed
    own = {page.key for page in content.pages}
    # Lists are published for the site's own pages only; the others are candidates.
    return Recommendations(
        {k: v for k, v in cached[0].items() if k in own},
        {k: v for k, v in cached[1].items() if k in own},
        cached[2],
        {page.key: page for page in foreign},
        {k: v for k, v in cached[3].items() if k in own},
    )


Lists = tuple[
    dict[str, tuple[str, ...]],
    dict[str, tuple[str, ...]],
    dict[str, tuple[str, ...]],
    dict[str, tuple[tuple[str, float], ...]],
]
CACHE_FORMAT = 3


def popularity(views: list[View], by_url: dict[str, str], count: int) -> dict[str, tuple[str, ...]]:
    """The most viewed pages overall ('') and among each segment's visitors."""
    counts: dict[str, Counter[str]] = {"": Counter()}
    for _, _, _, url, segments in views:
        key = by_url.get(url)
        if key is None:
            continue
        counts[""][key] += 1
        for segment in filter(None, segments.split(".")):
            counts.setdefault(segment, Counter())[key] += 1
    return {
        segment: tuple(
            key for key, _ in sorted(found.items(), key=lambda item: (-item[1], item[0]))[:count]
        )
        for segment, found in sorted(counts.items())
    }


def _inputs_key(pages: list[Page], views: list[View], count: int) -> str:
    digest = hashlib.sha256(f"{__version__}\0{CACHE_FORMAT}\0{count}\n".encode())
    for page in pages:
        digest.update(
            f"{page.key}\0{page.url}\0{page.title}\0{page.tags}\0{page.source.digest}\n".encode()
        )
    for view in views:
        digest.update(repr(view).encode())
    return digest.hexdigest()


def _load_cached(path: Path, inputs: str) -> Lists | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if document.get("inputs") != inputs:
        return None
    return (
        {key: tuple(value) for key, value in document["related"].items()},
        {key: tuple(value) for key, value in document["next"].items()},
        {key: tuple(value) for key, value in document.get("popular", {}).items()},
        {
            key: tuple((str(k), float(p)) for k, p in value)
            for key, value in document.get("chances", {}).items()
        },
    )


def _save_cached(path: Path, inputs: str, lists: Lists) -> None:
    document = {
        "inputs": inputs,
        "related": lists[0],
        "next": lists[1],
        "popular": lists[2],
        "chances": lists[3],
    }
    replace_text(path, json.dumps(document, sort_keys=True, separators=(",", ":")))
