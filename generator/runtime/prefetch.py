"""Predictive prefetching: `<script type="speculationrules">` in every page.

- From the traffic (the next-page model of the recommendations): the page's likeliest next
  pages whose probability reaches `prefetch.threshold`, at most `prefetch.max`, as a list
  rule with `prefetch.eagerness`.
- With or without traffic: same-site links prefetched on hover (`moderate`) or touch
  (`conservative`), as a document rule.

Never prefetched: variant files (`/_variants/`), logout-like URLs, the tracking pixel and
the site's `prefetch.exclude` patterns. Browsers without speculation rules get
`<link rel="prefetch">` for the list's pages from the footer runtime, which reads the same
JSON.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from generator.config.settings import PrefetchSettings
from generator.content.page import Page
from generator.dependencies import DependencyKind, record
from generator.recommend.lists import Recommendations

NEVER = (
    "/_variants/*",
    "/_sg/*",
    "/*logout*",
    "/*log-out*",
    "/*signout*",
    "/*sign-out*",
    "/*logoff*",
)
"""Path patterns (speculation rules' `href_matches`, and fnmatch for the list)."""


@dataclass(frozen=True)
class NextPages:
    """What a page's likeliest next pages come from."""

    recommendations: Recommendations | None
    pages_by_key: Mapping[str, Page]


def speculation_rules(
    settings: PrefetchSettings, next_pages: NextPages, url: str | None, page_key: str | None
) -> str:
    """The speculation rules of the page at `url` as the text of their <script> element
    ('' for none)."""
    record(DependencyKind.CONFIG, "prefetch")
    if not settings.enabled or url is None:
        return ""
    excluded = [*NEVER, *settings.exclude]
    rules: dict[str, list[dict[str, Any]]] = {"prefetch": []}
    urls = likely_next(next_pages, url, page_key, settings, excluded)
    if urls:
        rules["prefetch"].append({"source": "list", "urls": urls, "eagerness": settings.eagerness})
    links = settings.links
    if links != "none":
        rules["prefetch"].append(
            {
                "source": "document",
                "where": {"and": [{"href_matches": "/*"}, {"not": {"href_matches": excluded}}]},
                "eagerness": links,
            }
        )
    if not rules["prefetch"]:
        return ""
    # JSON made by the build; "<" is escaped so it cannot close the element.
    return json.dumps(rules, separators=(",", ":"), sort_keys=True).replace("<", "\\u003c")


def likely_next(
    next_pages: NextPages,
    url: str,
    key: str | None,
    settings: PrefetchSettings,
    excluded: list[str],
) -> list[str]:
    """URLs of the likeliest next pages above the threshold, likeliest first."""
    found = next_pages.recommendations
    if found is None or not key:
        return []
    record(DependencyKind.QUERY, f"chances:{key}")
    threshold = settings.threshold
    urls = []
    for next_key, chance in found.next_chances.get(key, ()):
        page = next_pages.pages_by_key.get(next_key)
        if chance < threshold or page is None or page.url == url or page.access is not None:
            continue  # (a protected page is never named to the public)
        if any(fnmatch.fnmatch(page.url, pattern) for pattern in excluded):
            continue
        urls.append(page.url)
    return urls[: settings.max]
