"""Recommendations for one site at build time: its pages, and its visitors' sessions from the
events store (if there is one)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from generator.config.model import SiteConfig
from generator.content.index import SiteContent
from generator.recommend.related import Recommendations, recommend, sessionise


def page_views(store: Path, site: str) -> list[tuple[str, str, float, str]]:
    """(visitor, session, time, page URL) of every stored page view of the site."""
    if not store.exists():
        return []
    # Read-only: a build never changes the events store.
    connection = sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True)
    try:
        return [(row[0], row[1], row[2], row[3]) for row in connection.execute(
            "SELECT visitor, session, time, page FROM events WHERE site = ? AND type = 'view'",
            (site,))]
    except sqlite3.Error:
        return []
    finally:
        connection.close()


def site_recommendations(site: SiteConfig, content: SiteContent,
                         events_store: Path) -> Recommendations | None:
    settings = site.values.get("recommendations") or {}
    if not settings.get("enabled", True):
        return None
    by_url = {page.url: page.key for page in content.pages}
    views = [(visitor, session, time, by_url[url])
             for visitor, session, time, url in page_views(events_store, site.name)
             if url in by_url]
    return recommend(content.pages, sessionise(views), settings.get("count", 5))
