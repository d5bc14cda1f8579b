"""Content: front matter, pools and gates, overrides, URLs and the page index."""

from __future__ import annotations

from generator.content.index import SiteContent, collect_site_content
from generator.content.page import Page
from generator.content.sources import SourceReader

__all__ = ["Page", "SiteContent", "SourceReader", "collect_site_content"]
