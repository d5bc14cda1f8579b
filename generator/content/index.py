"""Collecting one site's pages: pools through gates, overrides, site-only pages, listings."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from generator.config.model import Network, PoolGate, SiteConfig
from generator.content.gates import glob_pattern, in_environment, publishes
from generator.content.page import Page, listing_order, tag_slug
from generator.content.sources import Source, SourceReader
from generator.errors import ContentError, Location, suggest


@dataclass(frozen=True, eq=False)
class SiteContent:
    """Everything one site publishes from Markdown, indexed for listings."""

    pages: tuple[Page, ...]
    """Regular pages, sorted by URL."""
    intros: dict[str, Page]
    """Listing URL (`/`, `/guides/`) -> the page whose text introduces that listing."""
    sections: dict[str, tuple[Page, ...]]
    """Section name -> its pages in listing order."""
    tags: dict[str, tuple[str, tuple[Page, ...]]]
    """Tag slug -> (tag as written, its pages in listing order)."""
    protected: tuple[Page, ...] = ()
    """Pages only some users may read, sorted by URL: rendered, each behind the web
    server's login, and in nothing else (no listing, tag, feed, sitemap, recommendation)."""

    @cached_property
    def _recent(self) -> tuple[Page, ...]:
        return tuple(sorted(self.pages, key=lambda p: (p.date is None, listing_order(p))))

    def recent(self) -> tuple[Page, ...]:
        """All pages in listing order, dated ones first."""
        return self._recent


VARIANTS_SUFFIX = ".variants"
"""`<page>.variants/` next to a page holds its variant texts (see personalize/)."""


def markdown_files(
    directory: Path, display: Callable[[Path], str], what: str
) -> list[tuple[str, Path]]:
    """(name relative to `directory` without `.md`, path) of every Markdown file, sorted.

    A symbolic link whose target lies outside `directory` is an error: content must never
    pull in files from elsewhere on the machine. Only links are resolved, so a large pool
    costs one `scandir` per folder.
    """
    found: list[tuple[str, Path]] = []
    if not directory.is_dir():
        return found
    real_root = os.path.realpath(directory)

    def walk(folder: str, prefix: str) -> None:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if os.path.commonpath([target, real_root]) != real_root:
                        raise ContentError(
                            f"{what} would leave its folder (links to {target}); expected a "
                            f"file inside {display(directory)}",
                            Location(display(Path(entry.path)), 0),
                        )
                if entry.is_dir():
                    if not entry.name.endswith(VARIANTS_SUFFIX):  # variant texts, not pages
                        walk(entry.path, f"{prefix}{entry.name}/")
                elif entry.name.endswith(".md") and entry.is_file():
                    found.append((prefix + entry.name[:-3], Path(entry.path)))

    walk(str(directory), "")
    return sorted(found)


def _url(prefix: str, relative: str, source: Source) -> str:
    parts = relative.split("/")
    if parts[-1] == "index":
        parts = parts[:-1]
    elif source.slug:
        parts[-1] = source.slug
    return prefix + "".join(part + "/" for part in parts)


def _section(url: str) -> str:
    segments = [segment for segment in url.split("/") if segment]
    return segments[0] if len(segments) >= 2 else ""


def _pool_sources(
    site: SiteConfig, network: Network, gate: PoolGate, reader: SourceReader
) -> dict[str, tuple[Source, bool]]:
    """Pool-relative name -> (effective source, overridden?) for one pool of one site."""
    pool_dir = network.pools[gate.pool]
    found: dict[str, tuple[Source, bool]] = {}
    for relative, path in markdown_files(pool_dir, reader.display, "pool page"):
        found[relative] = (reader.read(path), False)
    # Overrides: the nearest site in the lineage that has the file wins; a file with no pool
    # counterpart adds a page to the pool for that site and the sites that extend it.
    for ancestor in reversed(site.lineage):
        override_dir = network.sites[ancestor].directory / "content" / gate.pool
        for relative, path in markdown_files(override_dir, reader.display, "override"):
            found[relative] = (reader.read(path), True)
    return found


def collect_site_content(
    site: SiteConfig, network: Network, reader: SourceReader, drafts: bool = False
) -> SiteContent:
    """Apply gates, overrides and drafts; give every page its URL; index the listings."""
    pages: list[Page] = []
    published = {gate.pool for gate in site.pools}
    for gate in site.pools:
        for relative, (source, overridden) in sorted(
            _pool_sources(site, network, gate, reader).items()
        ):
            _check_environments(source, network)
            if not publishes(site, gate.pool, relative, source):
                continue
            if source.draft and not drafts:
                continue
            url = _url(gate.mount, relative, source)
            key = f"{gate.pool}/{relative}"
            pages.append(
                _protected(site, Page(key, source, gate.pool, url, _section(url), overridden))
            )

    own_content = site.directory / "content"
    for relative, path in markdown_files(own_content, reader.display, "site page"):
        first = relative.split("/", 1)[0]
        if first in network.pools and "/" in relative:
            if first not in published:
                raise ContentError(
                    f"override for pool '{first}', which this site does not "
                    f"publish; expected '{first}' under pools: in site.yaml",
                    Location(reader.display(path), 0),
                )
            continue
        source = reader.read(path)
        _check_environments(source, network)
        if (source.draft and not drafts) or not in_environment(source, site.environment):
            continue
        url = _url("/", relative, source)
        pages.append(
            _protected(site, Page(f"site:{relative}", source, None, url, _section(url), False))
        )

    return _index(pages)


def _check_environments(source: Source, network: Network) -> None:
    """Front matter `environments:` may name only environments the network knows (a typo
    would otherwise hide the page everywhere)."""
    for name in source.environments:
        if name not in network.environments:
            raise ContentError(
                f"front matter 'environments': unknown environment '{name}'; expected one of "
                f"{', '.join(network.environments)}" + suggest(name, list(network.environments)),
                source.location("environments"),
            )


def _protected(site: SiteConfig, page: Page) -> Page:
    """The page with what protects it: its own `access:` (`public` exempts it from the
    site's `protected:`), else the first `protected:` entry whose glob matches its URL."""
    access = page.source.access
    if access is not None:
        if access == ("public",):
            return page
        roles = () if access == ("protected",) else access
        return replace(page, access=roles, access_location=page.source.location("access"))
    for entry in site.protected:
        if glob_pattern(entry.path).fullmatch(page.url):
            return replace(page, access=entry.roles, access_location=entry.location)
    return page


def _index(pages: list[Page]) -> SiteContent:
    by_url: dict[str, Page] = {}
    for page in sorted(pages, key=lambda p: (p.url, p.source.display)):
        if page.url in by_url:
            first = by_url[page.url]
            raise ContentError(
                f"two pages map to the URL {page.url}: this one and "
                f"{first.source.display}; change a slug or a gate's mount",
                page.source.location("slug"),
            )
        by_url[page.url] = page

    intros: dict[str, Page] = {}
    regular: list[Page] = []
    protected: list[Page] = []
    for url, page in by_url.items():
        if page.access is not None:
            protected.append(page)
            continue
        is_index_file = page.source.path.stem == "index"
        if url == "/" or (is_index_file and url.count("/") == 2):
            intros[url] = page
        else:
            regular.append(page)

    sections: dict[str, list[Page]] = {}
    tags: dict[str, tuple[str, list[Page]]] = {}
    for page in regular:
        if page.section:
            sections.setdefault(page.section, []).append(page)
        # Two spellings of one tag ("Trail Running", "trail-running") list the page once.
        for slug in dict.fromkeys(tag_slug(tag) for tag in page.tags):
            name = next(tag for tag in page.tags if tag_slug(tag) == slug)
            tags.setdefault(slug, (name, []))[1].append(page)
    order = {page.key: listing_order(page) for page in regular}

    def in_order(members: list[Page]) -> tuple[Page, ...]:
        return tuple(sorted(members, key=lambda page: order[page.key]))

    return SiteContent(
        pages=tuple(regular),
        intros=intros,
        sections={name: in_order(members) for name, members in sorted(sections.items())},
        tags={slug: (name, in_order(members)) for slug, (name, members) in sorted(tags.items())},
        protected=tuple(protected),
    )
