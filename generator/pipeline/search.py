"""Site search: a static Pagefind index, made with the build (`search.enabled` in site.yaml).

Pagefind (its Python package ships the binary) indexes one record per public page: its URL,
title and text (the page's Markdown rendered, without markup), in the site's language. The
records are written as minimal HTML files and indexed by one run of the binary (its Python
API answers one request per 0.1 s poll: 7 s for 70 pages, against 0.1 s this way). Its
files become outputs under `pagefind/` like any asset, so deploys, manifests and rollbacks
carry them. The index is kept in the build cache under a key made of every record's URL,
title and source digest: a build that changed no page's text reuses it without reading a
single body. The theme's `/search/` page loads Pagefind's own UI from `/pagefind/`.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import subprocess
import tempfile
from pathlib import Path

from generator.cache import ContentCache
from generator.config.model import SiteConfig
from generator.content.index import SiteContent
from generator.content.sources import Source
from generator.errors import BuildError
from generator.render.markdown import render_markdown, typography

SEARCH_FOLDER = "pagefind"
SEARCH_URL = "/search/"
TAGS = re.compile(r"<[^>]+>")
INDEX_FORMAT = 1


def _version() -> str:
    from importlib.metadata import version

    return version("pagefind")


def _plain(markup: str) -> str:
    return " ".join(html.unescape(TAGS.sub(" ", markup)).split())


def _text(source: Source, typographer: bool, cache: ContentCache) -> str:
    """A page's text without markup (smart quotes as the site has them), kept in the build
    cache by the source's digest: an edit indexes the site again without rendering every
    other page's Markdown again."""
    key = hashlib.sha256(f"{source.digest}\0{typographer}".encode()).hexdigest()
    cached = cache.get("search-text", key)
    if cached is not None:
        return cached.decode("utf-8")
    with typography(typographer):
        text = _plain(render_markdown(source.body))
    cache.put("search-text", key, text.encode("utf-8"))
    return text


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
    records = [
        (page.url, page.title, _text(page.source, site.compat.smart_quotes, cache))
        for page in pages
    ]
    files = _index(records, language)
    cache.put("search", key, json.dumps({p: d.hex() for p, d in files.items()}).encode())
    return files


def _index(records: list[tuple[str, str, str]], language: str) -> dict[str, bytes]:
    """Pagefind's bundle for `records` (URL, title, text): each written as the HTML page
    Pagefind reads, then one run of its binary over them."""
    from pagefind.service import get_executable

    binary = get_executable()
    if binary is None:
        raise BuildError(
            "search.enabled: Pagefind's binary is missing (pip install 'pagefind[bin]')"
        )
    with tempfile.TemporaryDirectory(prefix="sitegen-search-") as folder:
        root = Path(folder) / "site"
        for url, title, text in records:
            page = root.joinpath(*[part for part in url.split("/") if part], "index.html")
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(
                f'<!doctype html><html lang="{html.escape(language)}"><head><title>'
                f"{html.escape(title)}</title></head><body><main data-pagefind-body>"
                f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></main></body></html>",
                encoding="utf-8",
            )
        output = Path(folder) / "bundle"
        result = subprocess.run(
            [str(binary), "--site", str(root), "--output-path", str(output),
             "--force-language", language, "--silent"],
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise BuildError(f"search index: Pagefind failed: {result.stdout}{result.stderr}")
        return {
            path.relative_to(output).as_posix(): path.read_bytes()
            for path in sorted(output.rglob("*"))
            if path.is_file()
        }
