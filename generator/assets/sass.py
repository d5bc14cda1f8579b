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

        try:
            return str(sass.compile(filename=str(entry),
                                    include_paths=[str(p) for p in load_paths if p.is_dir()],
                                    output_style="expanded"))
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


def default_compiler() -> SassCompiler:
    return LibSassCompiler()
