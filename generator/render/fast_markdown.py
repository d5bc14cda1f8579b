"""markdown-it-pyrs (the Rust port of markdown-it) behind the Markdown adapter, only where
its HTML is known to equal markdown-it-py's with sitegen's setup.

Measured against markdown-it-py with the same setup (commonmark, tables, strikethrough,
heading anchors on h2-h3): the 652 CommonMark spec examples, markdown-it-py's fixtures for
tables, strikethrough, CommonMark extras, XSS, normalisation and pathological input, and
every Markdown file of the demo (tests/test_markdown_engines.py). The two differ on a few
constructs; a text holding any of them goes to markdown-it-py, and so does every text when
the Rust engine is not installed:

- HTML comments (`<!--`): the ports follow different versions of the spec's comment rule;
- a backslash before a line break (`\\` + newline): pyrs ends a link title there;
- autolinks with percent-encoded characters: markdown-it-py shows them decoded;
- emphasis or strikethrough delimiters next to non-ASCII punctuation or symbols (`*£*`):
  the spec's flanking rules for Unicode punctuation;
- raw `<h2>`/`<h3>` tags (the anchors pass below reads the rendered headings);
- link reference definitions (`[label]: /url`): the ports resolve references nested in
  brackets differently;
- an empty block quote (pyrs writes a line break inside it);
- headings holding markup other than emphasis, code, strikethrough and links (images,
  raw HTML, line breaks): their anchor's text is the plugin's, from tokens;
- footnotes (`[^1]`), task lists (`- [ ]`), definition lists (`: ` after a term) and
  admonitions (`!!!`): mdit-py-plugins' markup, which pyrs' plugins do not write;
- a straight quote left in the text after pyrs' smart quotes (it skips, for one, the items
  of a tight list after the first): markdown-it-py converts it.

pyrs has a heading-anchors plugin, but it writes GitHub's markup; the anchors here are
those of mdit-py-plugins' `anchors_plugin` (ids from the heading's text, made unique in
order, a permalink after the text).
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache
from typing import Any

UNSUPPORTED = re.compile(
    r"<!--"
    r"|\\\n"
    r"|<[A-Za-z][A-Za-z0-9.+-]{1,31}:[^\s<>]*%[0-9A-Fa-f]{2}[^\s<>]*>"
    r"|<h[23]\b"
    r"|^ {0,3}\[(?:[^\]\\]|\\.)*\]:"
    r"|\[\^"
    r"|^\s*(?:[-*+]|\d+[.)])[ \t]+\[[ xX]\]"
    r"|^ {0,3}[:~][ \t]"
    r"|^ {0,3}!!!",
    re.IGNORECASE | re.MULTILINE,
)
CODE = re.compile(r"<(pre|code)\b.*?</\1>", re.DOTALL)
STRAIGHT_QUOTE = re.compile(r"&quot;|'")
BLOCK_END = re.compile(r"</(?:p|h[1-6]|li|td|th|dt|dd)>")
DELIMITER_NEIGHBOUR = re.compile(r"[*_~]([^\x00-\x7f])|([^\x00-\x7f])[*_~]")
HEADING = re.compile(r"<h([23])>(.*?)</h\1>\n", re.DOTALL)
ALLOWED_IN_HEADING = re.compile(
    r"</?(?:em|strong|code|s)>|<a href=\"[^\"]*\"(?: title=\"[^\"]*\")?>|</a>"
)
TAG = re.compile(r"<[^>]*>")


@lru_cache(maxsize=2)
def _engine(typographer: bool = True) -> Any:
    try:
        import markdown_it_pyrs
    except ImportError:  # no wheel for this platform: markdown-it-py does everything
        return None
    engine = markdown_it_pyrs.MarkdownIt("commonmark").enable_many(["table", "strikethrough"])
    return engine.enable_many(["replacements", "smartquotes"]) if typographer else engine


def render_fast(text: str, typographer: bool = True) -> str | None:
    """The HTML markdown-it-py would give, or None where this engine cannot promise it."""
    engine = _engine(typographer)
    if engine is None or UNSUPPORTED.search(text) or _unicode_flanking(text):
        return None
    rendered: str = engine.render(text)
    if "<blockquote>\n</blockquote>" in rendered or (typographer and _straight_quotes(rendered)):
        return None
    return _with_anchors(rendered)


def _straight_quotes(rendered: str) -> bool:
    """Does a straight quote remain in the text (outside tags and code), or does a block
    open more double quotes than it closes (pyrs pairs quotes across blocks, markdown-it-py
    never does)?"""
    if "\u201c" in rendered or "\u201d" in rendered:
        for block in BLOCK_END.split(rendered):
            if block.count("\u201c") != block.count("\u201d"):
                return True
    if "'" not in rendered and "&quot;" not in rendered:
        return False
    return bool(STRAIGHT_QUOTE.search(TAG.sub("", CODE.sub("", rendered))))


def _unicode_flanking(text: str) -> bool:
    if text.isascii():  # most texts: nothing to look for
        return False
    for match in DELIMITER_NEIGHBOUR.finditer(text):
        character = match.group(1) or match.group(2)
        if unicodedata.category(character)[0] in "PS":
            return True
    return False


def _with_anchors(rendered: str) -> str | None:
    slugs: set[str] = set()
    plain = True

    def anchor(match: re.Match[str]) -> str:
        nonlocal plain
        level, inner = match.group(1), match.group(2)
        if "<" in ALLOWED_IN_HEADING.sub("", inner):
            plain = False
            return match.group(0)
        title = html.unescape(TAG.sub("", inner)).replace("\n", "")
        slug = html.escape(_unique(_slugify(title), slugs))
        return (
            f'<h{level} id="{slug}">{inner} <a class="header-anchor" href="#{slug}">#</a>'
            f"</h{level}>\n"
        )

    result = HEADING.sub(anchor, rendered)
    return result if plain else None


def _slugify(title: str) -> str:
    """mdit-py-plugins' `slugify` (GitHub's way)."""
    return re.sub(r"[^\w\u4e00-\u9fff\- ]", "", title.lower().replace(" ", "-"))


def _unique(slug: str, slugs: set[str]) -> str:
    unique, number = slug, 1
    while unique in slugs:
        unique = f"{slug}-{number}"
        number += 1
    slugs.add(unique)
    return unique
