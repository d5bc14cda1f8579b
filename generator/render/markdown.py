"""Markdown to HTML: CommonMark plus tables, strikethrough and heading anchors."""

from __future__ import annotations

import html
import re
from functools import lru_cache

from markdown_it import MarkdownIt
from mdit_py_plugins.anchors import anchors_plugin

MARKDOWN_FLAVOUR = "commonmark+table+strikethrough+anchors(h2-h3)"
"""Part of every page's cache key: changing the Markdown setup re-renders everything."""


@lru_cache(maxsize=1)
def markdown_parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"typographer": False})
    parser.enable(["table", "strikethrough"])
    parser.use(anchors_plugin, min_level=2, max_level=3, permalink=True, permalinkSymbol="#")
    return parser


def render_markdown(text: str) -> str:
    return markdown_parser().render(text)


_BLOCK_START = re.compile(r"\s*(#|>|[-*+] |\d+[.)] |```|~~~|\||<|!\[)")
_TAGS = re.compile(r"<[^>]+>")


def first_paragraph_text(text: str, limit: int = 300) -> str:
    """Plain text of the first prose paragraph, for summaries; cut at a word near `limit`."""
    for block in re.split(r"\n\s*\n", text):
        if block.strip() and not _BLOCK_START.match(block):
            rendered = markdown_parser().renderInline(" ".join(block.split()))
            plain = html.unescape(_TAGS.sub("", rendered)).strip()
            if len(plain) > limit:
                plain = plain[:limit].rsplit(" ", 1)[0] + "…"
            return plain
    return ""
