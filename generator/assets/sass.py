"""Sass compilation behind a small adapter.

LibSass is end-of-life; everything outside this module talks to `SassCompiler`, so Dart Sass
(or anything else that turns an entry file and load paths into CSS) can replace it by adding
one class here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from generator.errors import BuildError, Location


class SassCompiler(Protocol):
    name: str

    def compile(self, entry: Path, load_paths: tuple[Path, ...], root: Path) -> str:
        """Compile `entry` to expanded CSS; raise `BuildError` naming file and line."""
        ...


_LIBSASS_LOCATION = re.compile(r"on line (\d+)(?::\d+)? of (.+)")


class LibSassCompiler:
    name = "libsass"

    def compile(self, entry: Path, load_paths: tuple[Path, ...], root: Path) -> str:
        import sass

        directories = tuple(p for p in load_paths if p.is_dir())

        def importer(name: str, previous: str) -> list[tuple[str, str]] | None:
            found = find_partial(name, directories)
            return None if found is None else [(str(found), found.read_text(encoding="utf-8"))]

        try:
            return str(
                sass.compile(
                    filename=str(entry),
                    include_paths=[str(p) for p in directories],
                    importers=[(0, importer)],
                    output_style="expanded",
                )
            )
        except sass.CompileError as error:
            text = str(error)
            first = text.strip().splitlines()[0].removeprefix("Error: ")
            match = _LIBSASS_LOCATION.search(text)
            location = None
            if match:
                file = match.group(2).strip()
                path = Path(file)
                if path.is_absolute() and path.is_relative_to(root):
                    file = str(path.relative_to(root))
                location = Location(file, int(match.group(1)))
            raise BuildError(f"Sass: {first}", location) from None


def partial_candidates(name: str) -> list[str]:
    """The file names Sass tries for `@import "name"`, in its order."""
    folder, _, stem = name.rpartition("/")
    prefix = f"{folder}/" if folder else ""
    if stem.endswith((".scss", ".sass", ".css")):
        return [f"{prefix}_{stem}", f"{prefix}{stem}"]
    names = [
        f"{prefix}{start}{stem}{suffix}"
        for suffix in (".scss", ".sass", ".css")
        for start in ("_", "")
    ]
    return names + [f"{prefix}{stem}/_index.scss", f"{prefix}{stem}/index.scss"]


def find_partial(name: str, directories: tuple[Path, ...]) -> Path | None:
    """Resolve an import through the load paths in order, so the site's and the child theme's
    partials shadow the parent theme's even when the parent's own file imports them."""
    if name.startswith(("http://", "https://", "/")) or name.endswith(".css") and "//" in name:
        return None
    for directory in directories:
        for candidate in partial_candidates(name):
            path = directory / candidate
            if path.is_file():
                return path
    return None


def default_compiler() -> SassCompiler:
    return LibSassCompiler()
