"""Recording what a render reads.

Everything a template can reach (templates, config values, pages shown in listings, data
files, asset URLs) calls `record()` at the moment it is read. The renderer collects the set
per output; `pipeline/freshness.py` turns each entry into a value that changes whenever the
thing read changes, so the next build knows exactly which outputs are stale.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

Dependency = tuple[str, str]
"""(kind, key): kind is one of template, config, page, data, asset, query."""

_active: set[Dependency] | None = None


def record(kind: str, key: str) -> None:
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
