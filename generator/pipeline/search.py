"""Site search: a static Pagefind index, made with the build (`search.enabled` in site.yaml).

Pagefind (its Python package ships the binary) indexes one record per public page: its URL,
title and text (the page's Markdown rendered, without markup), in the site's language. Its
files become outputs under `pagefind/` like any asset, so deploys, manifests and rollbacks
carry them. The index is kept in the build cache under a key made of every record's URL,
title and source digest: a build that changed no page's text reuses it without reading a
single body. The theme's `/search/` page loads Pagefind's own UI from `/pagefind/`.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import re
import tempfile
from pathlib import Path

from generator.cache import ContentCache
from generator.config.model import SiteConfig
from generator.content.index import SiteContent
from generator.render.markdown import render_markdown

SEARCH_FOLDER = "pagefind"
SEARCH_URL = "/search/"
TAGS = re.compile(r"<[^>]+>")
INDEX_FORMAT = 1


def _version() -> str:
    from importlib.metadata import version

    return version("pagefind")


def _plain(markup: str) -> str:
    return " ".join(html.unescape(TAGS.sub(" ", markup)).split())


def search_files(site: SiteConfig, content: SiteContent, cache: ContentCache) -> dict[str, bytes]:
    """The Pagefind bundle of the site's public pages: path under `pagefind/` -> bytes."""
    pages = [page for page in content.pages if page.access is None]
    language = site.language.split("-")[0].lower() or "en"
    identity = [(page.url, page.title, page.source.digest) for page in pages]
    key = hashlib.sha256(
        json.dumps(
            [INDEX_FORMAT, _version(), language, site.compat.smart_quotes, identity]
        ).encode()
    ).hexdigest()
    cached = cache.get("search", key)
    if cached is not None:
        stored: dict[str, str] = json.loads(cached)
        return {path: bytes.fromhex(data) for path, data in stored.items()}
    records = [(page.url, page.title, _plain(render_markdown(page.source.body))) for page in pages]
    files = asyncio.run(_index(records, language))
    cache.put("search", key, json.dumps({p: d.hex() for p, d in files.items()}).encode())
    return files


async def _index(records: list[tuple[str, str, str]], language: str) -> dict[str, bytes]:
    from pagefind.index import IndexConfig, PagefindIndex

    with tempfile.TemporaryDirectory(prefix="sitegen-search-") as folder:
        config = IndexConfig(output_path=folder, force_language=language)
        async with PagefindIndex(config=config) as index:
            for url, title, text in records:
                await index.add_custom_record(
                    url=url, content=f"{title}. {text}", language=language, meta={"title": title}
                )
        root = Path(folder)
        return {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }
