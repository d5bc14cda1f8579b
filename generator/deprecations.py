"""Deprecated names of every kind but config keys (those are `Deprecated` options of the
schema): front-matter keys, template functions and command-line flags, each with its
replacement, the release that deprecated it and the one that removes it.

A use warns with its file and line (the command line for flags); `build --strict` or
`SITEGEN_DEPRECATIONS=error` makes every use an error, all listed. A name is deprecated
in a minor release and removed only in a major one (CHANGELOG.md). docs/deprecations.md
lists these tables with the schema's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Deprecation:
    kind: str
    """front-matter key, template function or command-line flag."""
    name: str
    replacement: str
    since: str
    removed_in: str

    def message(self) -> str:
        return (
            f"{self.kind} '{self.name}' is deprecated since sitegen {self.since} and goes in "
            f"{self.removed_in}; use '{self.replacement}'"
        )


FRONT_MATTER_KEYS: dict[str, Deprecation] = {}
"""Old key -> its deprecation; the value is read as the replacement key's."""
TEMPLATE_FUNCTIONS: dict[str, Deprecation] = {}
"""Old name -> its deprecation; the name stays callable, as the replacement."""
FLAGS: dict[str, Deprecation] = {}
"""Old command-line flag (`--old`) -> its deprecation; it means the replacement."""


def strict_from_environment() -> bool:
    """`SITEGEN_DEPRECATIONS=error`: every deprecated use is an error."""
    return os.environ.get("SITEGEN_DEPRECATIONS") == "error"
