"""Generator behaviour flags (`compat:`): a change in sitegen that alters a site's output
ships behind a flag, so upgrading sitegen never changes a published byte unless the site
opts in.

A flag's default depends on the config format of the site's own file: off for files in a
format older than the one the change came with (existing sites), on from that format (new
sites). `sitegen migrate` records `false` in the files it upgrades, so migrating keeps the
output too; a site opts in by setting the flag to `true`. Like other keys, `compat:`
inherits down `extends`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from generator.config.schema import Bool, Option, Section


@dataclass(frozen=True)
class CompatFlag:
    name: str
    since_format: int
    """The config format from which it is on by default."""
    release: str
    doc: str


FLAGS = (
    CompatFlag(
        "not_found_page_runtime",
        2,
        "0.2.0",
        "the 404 page carries the visitor runtime and reports its views under /404.html "
        "(for the not-found guardrail of experiments); before, it had no runtime",
    ),
    CompatFlag(
        "smart_quotes",
        2,
        "0.2.0",
        'Markdown gets typographic quotes and dashes ("a" becomes \u201ca\u201d, -- becomes '
        "\u2013, (c) \u00a9); before, quotes stayed as typed",
    ),
)

COMPAT_FIELDS: dict[str, Option] = {
    "compat": Section(
        {
            flag.name: Bool(
                f"{flag.doc} (default: on in config format {flag.since_format} and later)"
            )
            for flag in FLAGS
        },
        "behaviour changes of sitegen, each on or off (docs/compatibility.md)",
    )
}


@dataclass(frozen=True)
class Compat:
    not_found_page_runtime: bool
    smart_quotes: bool = True


def resolve_compat(values: Mapping[str, Any], file_format: int) -> Compat:
    """Each flag as set down the site's lineage, else by its own file's format."""
    chosen = values.get("compat") or {}
    return Compat(
        **{
            flag.name: (
                chosen[flag.name]
                if chosen.get(flag.name) is not None
                else file_format >= flag.since_format
            )
            for flag in FLAGS
        }
    )
