"""A page as one site publishes it."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from generator.content.sources import Source
from generator.errors import Location


@dataclass(frozen=True, slots=True)
class Page:
    """One published Markdown page of one site."""

    key: str
    """Stable identity: `<pool>/<path>` for pool pages, `site:<path>` for site-only pages."""
    source: Source
    """The file that is published: the pool file, or the override that replaces it."""
    pool: str | None
    """The pool the page comes from, or None for a site-only page."""
    url: str
    """Root-relative URL with a trailing slash, e.g. `/guides/boots/`."""
    section: str
    """First URL segment ('' for the home page)."""
    overridden: bool
    """True when a site's override replaced the pool file."""
    access: tuple[str, ...] | None = None
    """None: public. Else only some users may read it: those with one of these roles (or
    a role that inherits one), or, when empty, anyone with the 'read' permission."""
    access_location: Location | None = None
    """What protects it: its `access:` line, or the site's `protected:` entry."""

    @property
    def output_path(self) -> str:
        return url_to_output_path(self.url)

    @property
    def title(self) -> str:
        if self.source.title:
            return self.source.title
        if self.source.heading:
            return self.source.heading
        stem = self.url.rstrip("/").rsplit("/", 1)[-1] or "home"
        return stem.replace("-", " ").replace("_", " ").capitalize()

    @property
    def date(self) -> dt.date | None:
        return self.source.date

    @property
    def tags(self) -> tuple[str, ...]:
        return self.source.tags

    @property
    def weight(self) -> int:
        return self.source.weight


NOT_FOUND_URL = "/404.html"
"""The site's 404 page (`ErrorDocument 404` serves it at any address that was not found):
its views are reported under this URL."""


def url_to_output_path(url: str) -> str:
    """Pretty URLs: `/a/b/` -> `a/b/index.html`; a URL with an extension maps to itself."""
    path = url.lstrip("/")
    if not path or path.endswith("/"):
        return path + "index.html"
    return path


def output_path_to_url(path: str) -> str:
    """The inverse of `url_to_output_path`: `a/b/index.html` -> `/a/b/`."""
    if path == "index.html" or path.endswith("/index.html"):
        path = path[: -len("index.html")]
    return "/" + path


@lru_cache(maxsize=4096)
def tag_slug(tag: str) -> str:
    """`Trail Running` -> `trail-running`."""
    slug = re.sub(r"[^a-z0-9]+", "-", tag.lower()).strip("-")
    return slug or "tag"


def listing_order(page: Page) -> tuple[int, int, str, str]:
    """Weight first (lower first), then newest first, then title: the order of every listing."""
    ordinal = page.date.toordinal() if page.date is not None else 0
    return (page.weight, -ordinal, page.title.lower(), page.url)
