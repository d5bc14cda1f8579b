"""What a build is asked to do and what it reports: light enough for a no-op build, which
imports nothing else of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class BuildOptions:
    root: Path
    build_dir: Path
    environment: str = "production"
    sites: tuple[str, ...] = ()
    """Only these sites (default: every site that is not abstract)."""
    drafts: bool = False
    clean: bool = False
    jobs: int = 0
    """Worker processes; 0 means one per core."""
    quiet: bool = False
    preview: bool = False
    """Add the variant switcher to every page (for review, never for publishing)."""
    strict: bool = False
    """Deprecated uses are errors (`--strict`, `SITEGEN_DEPRECATIONS=error`)."""


@dataclass
class SiteReport:
    name: str
    version: str = ""
    pages: int = 0
    assets: int = 0
    variants: int = 0
    rendered: int = 0
    unchanged: int = 0
    committed: bool = False


@dataclass
class BuildReport:
    sites: list[SiteReport] = field(default_factory=list)
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        pages = sum(s.pages for s in self.sites)
        assets = sum(s.assets for s in self.sites)
        rendered = sum(s.rendered for s in self.sites)
        unchanged = sum(s.unchanged for s in self.sites)
        return (
            f"built {len(self.sites)} site(s): {pages} pages, {assets} assets; "
            f"{rendered} rendered, {unchanged} unchanged, in {self.seconds:.2f}s"
        )
