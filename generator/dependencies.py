"""Recording what a render reads: a neutral module, below every package that reads.

Everything a template can reach (templates, config values, pages shown in listings, data
files, asset URLs, ...) calls `record()` at the moment it is read. The renderer collects the
set per output; `pipeline/freshness.py` turns each entry into a value that changes whenever
the thing read changes, so the next build knows exactly which outputs are stale.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum


class DependencyKind(StrEnum):
    """What was read. The values are what the build state stores."""

    TEMPLATE = "template"
    """A template, by name (its source and everything it includes)."""
    CONFIG = "config"
    """A config value, by dotted key ("" for all of it)."""
    PAGE = "page"
    """One field of a page: `<page key>#<field>`."""
    DATA = "data"
    """A data file, by name."""
    ASSET = "asset"
    """An asset's URL and integrity, by name."""
    OPTION = "option"
    """A build option (`preview`)."""
    FILE = "file"
    """A file of the project, by path."""
    QUERY = "query"
    """A computed list: `recent`, `related:<key>`, `next:<key>`, `popular:<segment>`, ..."""
    COMPONENT = "component"
    """A lazy component's fragment, by name."""


Dependency = tuple[DependencyKind, str]

_active: set[Dependency] | None = None


def record(kind: DependencyKind, key: str) -> None:
    """Note that the current render read `key` of `kind` (no-op outside a render)."""
    if _active is not None:
        _active.add((kind, key))


@contextmanager
def recording() -> Iterator[set[Dependency]]:
    """Collect the dependencies recorded inside the block."""
    global _active
    previous = _active
    collected: set[Dependency] = set()
    _active = collected
    try:
        yield collected
    finally:
        _active = previous
