"""Markdown to HTML: CommonMark plus tables, strikethrough, heading anchors, footnotes, task
lists, definition lists, admonitions (`!!! note "Title"`), smart quotes and typographic
replacements, and code blocks highlighted by Pygments (CSS classes, `.highlight`)."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from markdown_it import MarkdownIt
from mdit_py_plugins.admon import admon_plugin
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

from generator.cache import active
from generator.dependencies import DependencyKind, record
from generator.render.fast_markdown import render_fast
from generator.render.highlight import PYGMENTS_VERSION, highlighted

MARKDOWN_FLAVOUR = (
    "commonmark+table+strikethrough+anchors(h2-h3)+footnote+tasklists(label)+deflist+admon"
    f"+typographer(compat.smart_quotes)+pygments{PYGMENTS_VERSION}"
)
"""Part of every page's cache key: changing the Markdown setup re-renders everything."""

_typographer: ContextVar[bool] = ContextVar("typographer", default=True)
"""Smart quotes and replacements for what is rendered now: each site's
`compat.smart_quotes` (off for sites made before 0.2.0, whose output it would change)."""


@contextmanager
def typography(enabled: bool) -> Iterator[None]:
    """Render Markdown inside the block with smart quotes on or off (a site's setting)."""
    token = _typographer.set(enabled)
    try:
        yield
    finally:
        _typographer.reset(token)


@lru_cache(maxsize=2)
def markdown_parser(typographer: bool = True) -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"typographer": typographer})
    parser.enable(["table", "strikethrough"])
    if typographer:
        parser.enable(["replacements", "smartquotes"])
    parser.use(anchors_plugin, min_level=2, max_level=3, permalink=True, permalinkSymbol="#")
    parser.use(footnote_plugin)
    parser.use(tasklists_plugin, label=True)  # a checkbox inside its label (accessible)
    parser.use(deflist_plugin)
    parser.use(admon_plugin)
    return parser


_rendered: dict[str, str] = {}
"""This process's memo, in front of the shared cache (cleared when a build starts)."""


def forget_rendered() -> None:
    _rendered.clear()


def render_markdown(text: str) -> str:
    """HTML of a Markdown text: by the fast engine where it can, else from the shared cache
    when any site had markdown-it-py render it before.

    The fast engine's HTML is not kept on disk: creating a cache file costs more than
    rendering the page again (about 1 ms against 0.2 ms on the benchmark machine, where a
    cold build of 5,000 pages spent 5 s creating cache files)."""
    typographer = _typographer.get()
    record(DependencyKind.CONFIG, "compat")
    key = hashlib.sha256(f"{MARKDOWN_FLAVOUR}\0{typographer}\0{text}".encode()).hexdigest()
    found = _rendered.get(key)
    if found is not None:
        return found
    found = render_fast(text, typographer)
    if found is None:
        found = _parsed(key, text, typographer)
    found = highlighted(found)
    if len(_rendered) > 20000:
        _rendered.clear()
    _rendered[key] = found
    return found


def _parsed(key: str, text: str, typographer: bool) -> str:
    """markdown-it-py's HTML, through the build cache."""
    cache = active()
    cached = cache.get("markdown", key) if cache is not None else None
    if cached is not None:
        return cached.decode("utf-8")
    found: str = markdown_parser(typographer).render(text)
    if cache is not None:
        cache.put("markdown", key, found.encode("utf-8"))
    return found


_BLOCK_START = re.compile(r"\s*(#|>|[-*+] |\d+[.)] |```|~~~|\||<|!\[)")
_TAGS = re.compile(r"<[^>]+>")


def first_paragraph_text(text: str, limit: int = 300) -> str:
    """Plain text of the first prose paragraph, for summaries; cut at a word near `limit`."""
    record(DependencyKind.CONFIG, "compat")
    return _first_paragraph_text(text, limit, _typographer.get())


@lru_cache(maxsize=50_000)
def _first_paragraph_text(text: str, limit: int, typographer: bool) -> str:
    """Memoized: a page's summary shows on every listing that holds it."""
    for block in re.split(r"\n\s*\n", text):
        if block.strip() and not _BLOCK_START.match(block):
            rendered = markdown_parser(typographer).renderInline(" ".join(block.split()))
            plain = html.unescape(_TAGS.sub("", rendered)).strip()
            if len(plain) > limit:
                plain = plain[:limit].rsplit(" ", 1)[0] + "…"
            return plain
    return ""
