"""What templates see: read-only views that record each value they hand out.

`site` (config), `page` / `pages` (page metadata and content) and `data` (data files) are
views, so a template that shows a page's title in a listing depends on that title, and a
template that reads `site.params.phone` depends on that one value, not on the whole config.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from functools import cached_property
from typing import Any

from generator.content.page import Page, tag_slug
from generator.dependencies import DependencyKind, record
from generator.render.markdown import first_paragraph_text, render_markdown


class ConfigView:
    """`site` in templates: the resolved config; reading a value records its key path."""

    __slots__ = ("_values", "_path")

    def __init__(self, values: dict[str, Any], path: str = "") -> None:
        self._values = values
        self._path = path

    def _key(self, name: str) -> str:
        return f"{self._path}.{name}" if self._path else name

    def __getitem__(self, name: str) -> Any:
        key = self._key(name)
        if name not in self._values:
            # a value looked for and not found is a dependency too
            record(DependencyKind.CONFIG, key)
            raise KeyError(name)
        value = self._values[name]
        if isinstance(value, dict):
            return ConfigView(value, key)
        record(DependencyKind.CONFIG, key)
        return value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def _whole(self) -> dict[str, Any]:
        record(DependencyKind.CONFIG, self._path)
        return self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._whole())

    def __len__(self) -> int:
        return len(self._whole())

    def __contains__(self, name: object) -> bool:
        return name in self._whole()

    def items(self) -> Any:
        return self._whole().items()

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default


PAGE_FIELDS = (
    "key",
    "title",
    "url",
    "absolute_url",
    "date",
    "tags",
    "summary",
    "content",
    "image",
    "meta",
    "section",
    "pool",
    "weight",
)


TOC_HEADING = re.compile(r'<h([23]) id="([^"]+)">(.*?)</h\1>', re.DOTALL)
ANCHOR_LINK = re.compile(r'\s*<a class="header-anchor"[^>]*>.*?</a>', re.DOTALL)
TAGS = re.compile(r"<[^>]+>")


def _plain_heading(inner: str) -> str:
    return html.unescape(TAGS.sub("", ANCHOR_LINK.sub("", inner))).strip()


class PageView:
    """`page` and the entries of `pages` in templates; each field read is recorded."""

    def __init__(self, page: Page, base_url: str) -> None:
        self._page = page
        self._base_url = base_url

    def _read(self, field: str) -> None:
        record(DependencyKind.PAGE, f"{self._page.key}#{field}")

    @property
    def key(self) -> str:
        return self._page.key

    @property
    def title(self) -> str:
        self._read("title")
        return self._page.title

    @property
    def url(self) -> str:
        self._read("url")
        return self._page.url

    @property
    def absolute_url(self) -> str:
        self._read("url")
        record(DependencyKind.CONFIG, "base_url")
        return self._base_url.rstrip("/") + self._page.url

    @property
    def date(self) -> Any:
        self._read("date")
        return self._page.date

    @property
    def tags(self) -> list[dict[str, str]]:
        self._read("tags")
        return [{"name": tag, "url": f"/tags/{tag_slug(tag)}/"} for tag in self._page.tags]

    @property
    def summary(self) -> str:
        self._read("summary")
        return page_summary(self._page)

    @cached_property
    def _content(self) -> str:
        return render_markdown(self._page.source.body)

    @property
    def content(self) -> str:
        self._read("content")
        return self._content

    @property
    def toc(self) -> list[dict[str, Any]]:
        """The page's table of contents: its h2 and h3 headings (those with anchors), each
        {level, id, title}, in order."""
        self._read("content")
        return [
            {"level": int(level), "id": html.unescape(anchor), "title": _plain_heading(inner)}
            for level, anchor, inner in TOC_HEADING.findall(self._content)
        ]

    @property
    def image(self) -> str | None:
        self._read("image")
        return self._page.source.image

    @property
    def meta(self) -> dict[str, Any]:
        self._read("meta")
        return self._page.source.meta

    @property
    def section(self) -> str:
        self._read("url")
        return self._page.section

    @property
    def pool(self) -> str | None:
        return self._page.pool

    @property
    def weight(self) -> int:
        self._read("weight")
        return self._page.weight


def page_summary(page: Page) -> str:
    return page.source.summary or first_paragraph_text(page.source.body)


class DataView:
    """`data` in templates: `data.authors` loads data/authors.yaml (nearest site first)."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        record(DependencyKind.DATA, name)
        value = self._loader(name)
        if value is None:
            raise AttributeError(name)
        return value

    __getitem__ = __getattr__
