"""docs/deprecations.md, made from the schemas: every deprecated key, where it may be
written, its replacement and the versions that deprecated it and will remove it.

    python -m generator.config.deprecations > docs/deprecations.md

(tests/test_migrate.py fails when the file is stale.)
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.config.schema import Deprecated, ListOf, MapOf, Option, Section, dotted
from generator.config.site_schema import SITE_SCHEMA, THEME_SCHEMA
from generator.deprecations import FLAGS, FRONT_MATTER_KEYS, TEMPLATE_FUNCTIONS

HEADER = """# Deprecations

Made from the schemas by `python -m generator.config.deprecations`; do not edit by hand.

A deprecated name still works: the build warns once per use, with its file and line and
the replacement; `sitegen build --strict` (or `SITEGEN_DEPRECATIONS=error`) makes every
use an error, all listed, for CI; `sitegen migrate` rewrites every deprecated use in the
config files, front matter and templates. A name is deprecated in a minor release and
removed only in a major one (CHANGELOG.md).

## Config keys

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
    others = [
        f"| {d.kind} | `{d.name}` | `{d.replacement}` | {d.since} | {d.removed_in} |\n"
        for table in (FRONT_MATTER_KEYS, TEMPLATE_FUNCTIONS, FLAGS)
        for d in table.values()
    ]
    return (
        HEADER
        + "".join(rows)
        + "\n## Front-matter keys, template functions, command-line flags\n\n"
        + "A deprecated front-matter key is read as its replacement, a deprecated template "
        "function\nor flag means its replacement; the build names the file and line of each "
        "use (the\ncommand line for flags).\n\n"
        + (
            "| kind | name | use instead | deprecated in | removed in |\n|---|---|---|---|---|\n"
            + "".join(others)
            if others
            else "None so far.\n"
        )
    )


if __name__ == "__main__":
    print(document(), end="")
