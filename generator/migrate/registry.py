"""The registered migrations: one step per format and version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from generator.formats import Format

Step = Callable[[str, str], str]
"""(text, display) -> the migrated text."""


@dataclass(frozen=True)
class Migration:
    format: Format
    source: int
    """It turns version `source` into `source + 1`."""
    summary: str
    step: Step


MIGRATIONS: dict[tuple[str, int], Migration] = {}


def migration(format: Format, source: int, summary: str) -> Callable[[Step], Step]:
    """Register a step from `source` to `source + 1` of `format`."""

    def register(step: Step) -> Step:
        key = (format.name, source)
        if key in MIGRATIONS:
            raise ValueError(f"two migrations from {format.name} format {source}")
        MIGRATIONS[key] = Migration(format, source, summary, step)
        return step

    return register
