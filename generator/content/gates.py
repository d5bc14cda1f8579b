"""Gates: path globs, tags, and a page's own `sites` / `not_sites` / `environments`."""

from __future__ import annotations

import re
from functools import lru_cache

from generator.config.model import PoolGate, SiteConfig
from generator.content.sources import Source


@lru_cache(maxsize=512)
def glob_pattern(glob: str) -> re.Pattern[str]:
    """Compile a path glob: `*` within a segment, `**` across segments, `?` one character."""
    parts = []
    index = 0
    while index < len(glob):
        if glob.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
        elif glob.startswith("**", index):
            parts.append(".*")
            index += 2
        elif glob[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif glob[index] == "?":
            parts.append("[^/]")
            index += 1
        else:
            parts.append(re.escape(glob[index]))
            index += 1
    return re.compile("".join(parts))


def matches_any(path: str, globs: tuple[str, ...]) -> bool:
    return any(glob_pattern(glob.removesuffix(".md")).fullmatch(path) for glob in globs)


def admits(gate: PoolGate, relative: str, source: Source) -> bool:
    """Does the gate let the page at `relative` (pool-relative, no `.md`) through?"""
    if not matches_any(relative, gate.include) or matches_any(relative, gate.exclude):
        return False
    return not gate.tags or any(tag in gate.tags for tag in source.tags)


def publishes(site: SiteConfig, pool: str | None, relative: str, source: Source) -> bool:
    """The one gate predicate: does `site` publish this source? A page of a pool the site
    publishes must pass that pool's gate (`relative`: pool-relative, no `.md`); every page
    must be addressed to the site by its own `sites:`/`not_sites:`. A page of a pool the
    site does not publish, or a site's own page (`pool` None), passes no pool gate."""
    gate = next((gate for gate in site.pools if gate.pool == pool), None)
    if gate is not None and not admits(gate, relative, source):
        return False
    return addressed_to(source, site.lineage) and in_environment(source, site.environment)


def in_environment(source: Source, environment: str) -> bool:
    """Front matter `environments:` is absent or names the environment being built."""
    return not source.environments or environment in source.environments


def addressed_to(source: Source, lineage: tuple[str, ...]) -> bool:
    """Front matter `sites:` names this site or an ancestor; `not_sites:` names neither."""
    if source.sites and not any(site in source.sites for site in lineage):
        return False
    return not any(site in source.not_sites for site in lineage)
