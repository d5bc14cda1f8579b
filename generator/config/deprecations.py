"""docs/deprecations.md, made from the schemas: every deprecated key, where it may be
written, its replacement and the versions that deprecated it and will remove it.

    python -m generator.config.deprecations > docs/deprecations.md

(tests/test_migrate.py fails when the file is stale.)
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.config.schema import Deprecated, ListOf, MapOf, Option, Section, dotted
from generator.config.site_schema import SITE_SCHEMA, THEME_SCHEMA

HEADER = """# Deprecations

Made from the schemas by `python -m generator.config.deprecations`; do not edit by hand.

A deprecated key still works: the build warns once per use, with its file and line and the
replacement; `sitegen build --strict` (or `SITEGEN_DEPRECATIONS=error`) makes every use an
error, all listed, for CI; `sitegen migrate` rewrites every use. A key is deprecated in a
minor release and removed only in a major one (CHANGELOG.md).

| file | key | use instead | deprecated in | removed in |
|---|---|---|---|---|
"""


def deprecated(
    section: Section, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[str, Deprecated]]:
    """(dotted path, option) of every deprecated key under `section`; `<name>` stands for
    a key the user names and `[]` for any list entry."""
    for key, option in section.fields.items():
        yield from _walk(option, (*path, key))


def _walk(option: Option, path: tuple[str | int, ...]) -> Iterator[tuple[str, Deprecated]]:
    if isinstance(option, Deprecated):
        yield dotted(path), option
    elif isinstance(option, Section):
        yield from deprecated(option, path)
    elif isinstance(option, MapOf):
        yield from _walk(option.value, (*path, "<name>"))
    elif isinstance(option, ListOf):
        yield from _walk(option.item, (*path, "[]"))


def document() -> str:
    rows = [
        f"| `{file}` | `{key}` | `{option.moved_to}` | {option.since} | {option.removed_in} |\n"
        for file, schema in (("site.yaml", SITE_SCHEMA), ("theme.yaml", THEME_SCHEMA))
        for key, option in deprecated(schema)
    ]
    return HEADER + "".join(rows)


if __name__ == "__main__":
    print(document(), end="")
