"""The resolved configuration values the rest of the pipeline works from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.config.compat import Compat
from generator.config.features import Feature
from generator.config.personalization import Personalization
from generator.config.settings import (
    AuthSettings,
    CdnSettings,
    ContentChecks,
    HttpSettings,
    ImageSettings,
    PrefetchSettings,
    ProtectedPath,
    RebuildRule,
    RecommendationSettings,
    Target,
)
from generator.config.sourced_yaml import KeyPath
from generator.errors import Location


@dataclass(frozen=True, slots=True)
class PoolGate:
    """How one site admits the pages of one pool."""

    pool: str
    """Name of the pool: a folder under content/."""
    mount: str
    """URL prefix of the pool's pages on this site, e.g. `/guides/`."""
    include: tuple[str, ...]
    """Globs (relative to the pool folder, without `.md`) a page must match."""
    exclude: tuple[str, ...]
    """Globs that keep a page out even if included."""
    tags: tuple[str, ...]
    """If not empty, a page needs one of these tags."""
    location: Location
    """Where the gate was written."""


@dataclass(frozen=True, slots=True)
class MenuItem:
    """One entry of the main navigation."""

    title: str
    url: str


@dataclass(frozen=True, slots=True)
class ThemeConfig:
    """A theme and the chain of themes it extends."""

    name: str
    directories: tuple[Path, ...]
    """This theme's folder first, then its parent's, and so on."""
    css: tuple[str, ...]
    """Stylesheet entry points, from the nearest theme that declares them."""
    js: tuple[str, ...]
    """Script entry points, from the nearest theme that declares them."""


@dataclass(frozen=True, eq=False)
class SiteConfig:
    """One site's configuration after `extends`, environments and validation."""

    name: str
    directory: Path
    """sites/<name>/"""
    lineage: tuple[str, ...]
    """This site, then its parent, up to the root of the network."""
    abstract: bool
    environment: str
    title: str
    description: str
    base_url: str
    """Always ends with '/'."""
    language: str
    theme: str
    pools: tuple[PoolGate, ...]
    per_page: int
    feed_enabled: bool
    feed_entries: int
    sitemap: bool
    robots_disallow: tuple[str, ...]
    menu: tuple[MenuItem, ...]
    minify: bool
    params: dict[str, Any]
    personalization: Personalization
    features: tuple[Feature, ...]
    """Feature flags (config/features.py), by id."""
    compat: Compat
    """Generator behaviour flags (config/compat.py)."""
    """Segments, rules and experiments, resolved and cross-checked."""
    http: HttpSettings
    cdn: CdnSettings
    images: ImageSettings
    lazy_concurrency: int
    checks: ContentChecks
    search_enabled: bool
    """A Pagefind index and a /search/ page (`search.enabled`)."""
    prefetch: PrefetchSettings
    recommendations: RecommendationSettings
    rebuild: tuple[RebuildRule, ...]
    targets: dict[str, Target]
    """Where the site is published, by name, checked when the network loads."""
    migrations: tuple[str, ...]
    auth: AuthSettings
    protected: tuple[ProtectedPath, ...]
    """URL globs only some users may read (`protected:`)."""
    values: dict[str, Any]
    """The whole resolved config as plain data (what templates see as `site`)."""
    locations: dict[KeyPath, Location] = field(repr=False)
    """Which file and line set each value."""

    def location_of(self, path: KeyPath) -> Location | None:
        """The location of `path`, or of its nearest ancestor that has one."""
        while True:
            if path in self.locations:
                return self.locations[path]
            if not path:
                return None
            path = path[:-1]


@dataclass(frozen=True, eq=False)
class Network:
    """Every site, theme and pool of a repository."""

    root: Path
    environment: str
    sites: dict[str, SiteConfig]
    """All sites by name, abstract ones included."""
    themes: dict[str, ThemeConfig]
    pools: dict[str, Path]
    """Pool name -> content/<pool>/."""
    warnings: tuple[str, ...] = ()
    deprecations: tuple[str, ...] = ()
    """Every use of a deprecated key, `file:line: message`, once each."""
    environments: tuple[str, ...] = ()
    """Every environment the network knows: the standard ones and those sites declare."""

    def buildable_sites(self) -> list[SiteConfig]:
        return [site for name, site in sorted(self.sites.items()) if not site.abstract]
