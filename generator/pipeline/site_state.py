"""Everything needed to render any output of one site, built once in the main process.

Worker processes are forked after the states exist, so they share them without pickling.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from generator.assets import AssetBundle
from generator.config.model import Network, SiteConfig
from generator.content.index import SiteContent
from generator.content.page import Page
from generator.errors import BuildError, Location
from generator.personalize.features import VisitorFlag, visitor_flags
from generator.recommend.lists import Recommendations
from generator.render.templates import RecordingEnvironment
from generator.runtime.lazy import Component
from generator.runtime.page_config import personalization_version
from generator.users.access import SiteAccess

DATA_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, eq=False)
class SiteState:
    """Made by the build's stages (collect, then recommend and components add their
    results to a copy), never changed afterwards."""

    network: Network
    site: SiteConfig
    content: SiteContent
    assets: AssetBundle
    environment: RecordingEnvironment
    """The site's Jinja environment (its compiled templates are reused by every page)."""
    preview: bool = False
    """A preview build: every page gets the variant switcher."""
    recommendations: Recommendations | None = None
    """Related and next pages, when the site has them enabled."""
    components: Mapping[str, Component] = field(default_factory=dict)
    """Lazy components, rendered once for the site before the pages (runtime/lazy.py)."""
    access: SiteAccess | None = None
    """Who may read each protected page (None: the site has none)."""
    _data_cache: dict[str, Any] = field(default_factory=dict)
    """Data files as read (a memo, shared by the copies)."""

    @cached_property
    def pages_by_key(self) -> dict[str, Page]:
        pages = {page.key: page for page in self.content.pages}
        pages.update({page.key: page for page in self.content.intros.values()})
        pages.update({page.key: page for page in self.content.protected})
        return pages

    @cached_property
    def build_version(self) -> str:
        """The version every page bakes in (runtime/page_config.py); one hash a build."""
        return personalization_version(self.site.values, visitor_flags=bool(self.visitor_flags))

    @cached_property
    def visitor_flags(self) -> tuple[VisitorFlag, ...]:
        """The feature flags the runtime resolves (personalize/features.py)."""
        return visitor_flags(self.site)

    def data_file(self, name: str) -> Path | None:
        """`data/<name>.yaml` of the nearest site in the lineage, else of the repository."""
        if "/" in name or name.startswith("."):
            return None
        directories = [self.network.sites[s].directory / "data" for s in self.site.lineage]
        for directory in [*directories, self.network.root / "data"]:
            for suffix in DATA_SUFFIXES:
                candidate = directory / f"{name}{suffix}"
                if candidate.is_file():
                    return candidate
        return None

    def load_data(self, name: str) -> Any:
        if name not in self._data_cache:
            path = self.data_file(name)
            value = None
            if path is not None:
                text = path.read_text(encoding="utf-8")
                display = str(path.relative_to(self.network.root))
                try:
                    value = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
                except (ValueError, yaml.YAMLError) as error:
                    mark = getattr(error, "problem_mark", None)
                    line = mark.line + 1 if mark else getattr(error, "lineno", 0)
                    raise BuildError(
                        f"data file is not valid: {error}", Location(display, line)
                    ) from None
            self._data_cache[name] = value
        return self._data_cache[name]
