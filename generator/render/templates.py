"""The Jinja2 environment of one site: its own templates over its theme chain.

Search order: `sites/<site>/templates/`, then those of the sites it extends, then the theme,
then the themes it extends. Every lookup is recorded, found or not, so that adding a template
that would now be found (a site override, a section-specific layout) re-renders the pages that
looked for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import jinja2

from generator.config.model import Network, SiteConfig
from generator.dependencies import DependencyKind, record
from generator.errors import BuildError, Location
from generator.layout import safe_parts


def template_directories(site: SiteConfig, network: Network) -> tuple[Path, ...]:
    own = [network.sites[name].directory / "templates" for name in site.lineage]
    theme = [directory / "templates" for directory in network.themes[site.theme].directories]
    return tuple(own + theme)


class ThemeLoader(jinja2.BaseLoader):
    """Finds a template in the first directory of the chain that has it."""

    def __init__(self, directories: tuple[Path, ...], root: Path) -> None:
        self.directories = directories
        self.root = root
        self._found: dict[str, Path | None] = {}
        """Name -> where it was found: templates do not change during a build, and a
        missing name (`posts/page.html` before `page.html`) is asked for by every page."""

    def find(self, name: str) -> Path | None:
        if name in self._found:
            return self._found[name]
        found = None
        parts = safe_parts(name)
        if parts is not None:
            for directory in self.directories:
                candidate = directory.joinpath(*parts)
                if candidate.is_file():
                    found = candidate
                    break
        self._found[name] = found
        return found

    def list_templates(self) -> list[str]:
        """Every template name the chain resolves (the first directory that has it wins)."""
        names: set[str] = set()
        for directory in self.directories:
            if directory.is_dir():
                names.update(
                    path.relative_to(directory).as_posix()
                    for path in directory.rglob("*")
                    if path.is_file()
                )
        return sorted(names)

    def fingerprint(self, name: str) -> str:
        """Which file a name resolves to, and its content: the template's dependency value."""
        path = self.find(name)
        if path is None:
            return "missing"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return f"{path.relative_to(self.root)}:{digest}"

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        path = self.find(template)
        if path is None:
            raise jinja2.TemplateNotFound(template)
        text = path.read_text(encoding="utf-8")
        display = str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)
        return text, display, lambda: True


class RecordingEnvironment(jinja2.Environment):
    """A Jinja2 environment that records every template it is asked for."""

    def _load_template(
        self, name: str, globals: MutableMapping[str, Any] | None
    ) -> jinja2.Template:
        record(DependencyKind.TEMPLATE, name)
        return super()._load_template(name, globals)


def create_environment(site: SiteConfig, network: Network) -> RecordingEnvironment:
    loader = ThemeLoader(template_directories(site, network), network.root)
    environment = RecordingEnvironment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates never change during a build; skip the per-lookup freshness check.
        auto_reload=False,
        cache_size=-1,
    )
    environment.filters["date_format"] = lambda value, fmt="%d %B %Y": (
        value.strftime(fmt) if value is not None else ""
    )
    return environment


def template_error(error: Exception) -> BuildError:
    """Turn a Jinja2 error into a `BuildError` naming the template file and line."""
    if isinstance(error, jinja2.TemplateSyntaxError):
        return BuildError(
            f"template syntax error: {error.message}",
            Location(error.filename or error.name or "?", error.lineno or 0),
        )
    location = None
    traceback = error.__traceback__
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".xml", ".txt")):
            location = Location(filename, traceback.tb_lineno)
        traceback = traceback.tb_next
    if isinstance(error, jinja2.TemplateNotFound):
        return BuildError(f"template '{error.name}' not found", location)
    return BuildError(f"template error: {error}", location)
