"""`sitegen migrate`: the repository's own files brought to the formats this sitegen writes.

Each migration is a small registered function from one version of a format to the next
(`@migration(CONFIG, 1, "...")`), text in and text out: it edits only the lines it is about
(`config/yaml_edit.py`), so comments, key order, quoting and blank lines stay as written.
After the format steps, every deprecated key the schema names is renamed to its
replacement, and so are deprecated front-matter keys and template functions where pages
and templates use them (`migrate/sources.py`). Nothing is written until every file has
migrated without error, and a migrated file migrates to itself: running it twice changes
nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.config.schema import Deprecated, ListOf, MapOf, Section, dotted
from generator.config.site_schema import SITE_SCHEMA, THEME_SCHEMA
from generator.config.yaml_edit import lines_of, load, rename_key
from generator.errors import ConfigError, Location
from generator.formats import CONFIG, Format
from generator.migrate import config as _steps  # noqa: F401  (registers its migrations)
from generator.migrate.registry import MIGRATIONS
from generator.migrate.sources import (
    page_files,
    rename_front_matter,
    rename_template_calls,
    template_files,
)


@dataclass(frozen=True)
class Change:
    """One file whose text a migration changes."""

    path: Path
    display: str
    old: str
    new: str
    steps: tuple[str, ...]
    """What was done, one line each."""


def config_files(root: Path) -> list[tuple[Path, Section]]:
    """The repository's config files, each with the schema of its kind."""
    return [(path, SITE_SCHEMA) for path in sorted((root / "sites").glob("*/site.yaml"))] + [
        (path, THEME_SCHEMA) for path in sorted((root / "themes").glob("*/theme.yaml"))
    ]


def plan(root: Path) -> list[Change]:
    """Every file `migrate` would change, and how; nothing is written."""
    changes = []
    for path, schema in config_files(root):
        display = str(path.relative_to(root))
        old = path.read_text(encoding="utf-8")
        new, steps = migrate_text(old, display, CONFIG, schema)
        if new != old:
            changes.append(Change(path, display, old, new, tuple(steps)))
    for paths, rename in (
        (page_files(root), rename_front_matter),
        (template_files(root), rename_template_calls),
    ):
        for path in paths:
            display = str(path.relative_to(root))
            old = _text(path, display)
            new, steps = rename(old, display)
            if new != old:
                changes.append(Change(path, display, old, new, tuple(steps)))
    return changes


def _text(path: Path, display: str) -> str:
    try:
        with path.open(encoding="utf-8", newline="") as file:
            return file.read()
    except UnicodeDecodeError as error:
        raise ConfigError(f"not UTF-8 text (byte {error.start})", Location(display, 0)) from None


def migrate_text(text: str, display: str, format: Format, schema: Section) -> tuple[str, list[str]]:
    """The text in `format.current`, with no deprecated key left; and the steps taken."""
    document = load(text, display)
    if not isinstance(document, dict):
        return text, []  # empty or not a mapping: the build says what is wrong with it
    version = version_of(document, display, format)
    # Deprecated keys are found in the file as the user wrote it, so that a conflict, and
    # each rename, names the user's line.
    renames = []
    for mapping, key, moved_to, path in sorted(
        _deprecated(schema, document, ()), key=lambda use: use[0].lc.key(use[1])[0]
    ):
        line = mapping.lc.key(key)[0] + 1
        if moved_to in mapping:
            raise ConfigError(
                f"{dotted(path)}: deprecated, and '{moved_to}' is set too: remove one of them "
                "(migrate cannot tell which you meant)",
                Location(display, line),
            )
        renames.append(f"line {line}: '{key}' is deprecated, renamed '{moved_to}'")
    steps = []
    while version < format.current:
        found = MIGRATIONS.get((format.name, version))
        if found is None:
            raise ConfigError(
                f"no migration from {format.name} format {version} to {version + 1}",
                Location(display, 1),
            )
        text = found.step(text, display)
        steps.append(f"{format.name} format {version} -> {version + 1}: {found.summary}")
        version += 1
    return rename_deprecated(text, display, schema), steps + renames


def version_of(document: Any, display: str, format: Format) -> int:
    """The format version a file declares (`sitegen:`, or `schema:` in format 1)."""
    for key in ("sitegen", "schema"):
        if key in document:
            value = document[key]
            where = Location(display, document.lc.key(key)[0] + 1)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"{key}: expected the version of the file's format, got {value!r}", where
                )
            refusal = format.refusal(value)
            if refusal is not None:
                raise ConfigError(f"{key}: {value}: this file is in {refusal}", where)
            return value
    return 1


def rename_deprecated(text: str, display: str, schema: Section) -> str:
    """Every deprecated key the schema names, renamed to its replacement where written."""
    document = load(text, display)
    found = sorted(_deprecated(schema, document, ()), key=lambda use: use[0].lc.key(use[1])[0])
    lines = lines_of(text)
    for mapping, key, moved_to, _ in reversed(found):  # bottom up: lines stay put
        rename_key(lines, mapping, key, moved_to, display)
    return "".join(lines)


def _deprecated(
    section: Section, value: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[Any, str, str, tuple[str | int, ...]]]:
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        option = section.fields.get(key)
        where = (*path, key)
        if isinstance(option, Deprecated):
            yield value, key, option.moved_to, where
        elif isinstance(option, Section):
            yield from _deprecated(option, item, where)
        elif isinstance(option, MapOf) and isinstance(option.value, Section):
            for name, entry in item.items() if isinstance(item, dict) else ():
                yield from _deprecated(option.value, entry, (*where, name))
        elif isinstance(option, ListOf) and isinstance(option.item, Section):
            for index, entry in enumerate(item if isinstance(item, list) else []):
                yield from _deprecated(option.item, entry, (*where, index))


def apply(changes: list[Change]) -> None:
    """Write every change, or none: all new texts go to temporary files first, then each
    replaces its file (a rename, so a reader never sees half a file)."""
    written: list[tuple[Path, Path]] = []
    try:
        for change in changes:
            temporary = change.path.with_name(f".{change.path.name}.migrate")
            temporary.write_text(change.new, encoding="utf-8", newline="")
            os.chmod(temporary, change.path.stat().st_mode & 0o7777)
            written.append((temporary, change.path))
    except OSError:
        for temporary, _ in written:
            temporary.unlink(missing_ok=True)
        raise
    for temporary, path in written:
        os.replace(temporary, path)
