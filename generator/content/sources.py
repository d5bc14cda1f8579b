"""Reading Markdown sources: front matter split, YAML with lines, typed fields.

A `SourceReader` parses each file once per build, however many sites publish it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.config.sourced_yaml import load_sourced_yaml
from generator.errors import ConfigError, ContentError, Location

FRONT_MATTER_FENCE = "---"
SLUG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
KNOWN_FIELDS = ("title", "date", "tags", "summary", "slug", "draft", "template", "weight",
                "image", "sites", "not_sites")


@dataclass(frozen=True, slots=True)
class Source:
    """One Markdown file, split and typed, before any site's gate is applied."""

    path: Path
    display: str
    """Path relative to the project root, for messages."""
    digest: str
    """sha256 of the file's bytes."""
    title: str | None
    date: dt.date | None
    tags: tuple[str, ...]
    summary: str | None
    slug: str | None
    draft: bool
    template: str | None
    weight: int
    image: str | None
    sites: tuple[str, ...]
    not_sites: tuple[str, ...]
    meta: dict[str, Any]
    """Front matter keys sitegen does not interpret, for templates."""
    body: str
    body_line: int
    """Line number of the body's first line in the file."""
    locations: dict[str, Location] = field(repr=False)
    """Front matter key -> where it was written."""

    def location(self, key: str | None = None) -> Location:
        if key is not None and key in self.locations:
            return self.locations[key]
        return Location(self.display, 1)


class SourceReader:
    """Parses Markdown files, each once, and remembers the result for this build."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[Path, Source] = {}

    def display(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def read(self, path: Path) -> Source:
        source = self._cache.get(path)
        if source is None:
            source = self._cache[path] = parse_source(path, self.display(path))
        return source


def split_front_matter(text: str, display: str) -> tuple[str | None, str, int]:
    """Return (front matter or None, body, line of the body's first line)."""
    if not text.startswith(FRONT_MATTER_FENCE):
        return None, text, 1
    first_newline = text.find("\n")
    if text[:first_newline].rstrip() != FRONT_MATTER_FENCE:
        return None, text, 1
    match = re.compile(r"^---[ \t]*$", re.MULTILINE).search(text, first_newline + 1)
    if match is None:
        raise ContentError("front matter opened with '---' on line 1 is never closed: "
                           "expected a line '---' after it", Location(display, 1))
    front = text[first_newline + 1: match.start()]
    body_start = match.end() + 1 if match.end() < len(text) else match.end()
    body_line = text.count("\n", 0, body_start) + 1
    return front, text[body_start:], body_line


def parse_source(path: Path, display: str) -> Source:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ContentError(f"not UTF-8 text (byte {error.start})", Location(display, 0)) from None
    front, body, body_line = split_front_matter(text.replace("\r\n", "\n"), display)
    values: dict[str, Any] = {}
    locations: dict[str, Location] = {}
    if front is not None and front.strip():
        try:
            document = load_sourced_yaml(front, display, line_offset=1)
        except ConfigError as error:
            raise ContentError(f"front matter: {error.message}", error.location) from None
        if not isinstance(document.data, dict):
            raise ContentError("front matter: expected a mapping of fields (key: value)",
                               Location(display, 2))
        values = document.data
        locations = {path[0]: loc for path, loc in document.locations.items()
                     if len(path) == 1 and isinstance(path[0], str)}
    fields = _FieldReader(values, locations, display)
    slug = fields.string("slug")
    if slug is not None and not SLUG_PATTERN.fullmatch(slug):
        leaves = ".." in slug or "/" in slug or "\\" in slug
        raise ContentError(
            f"slug '{slug}' " + ("would leave the output root; " if leaves else "is not valid; ")
            + "expected one URL segment of letters, digits, '.', '-' and '_'",
            fields.location("slug"))
    template = fields.string("template")
    if template is not None and (".." in template.split("/") or template.startswith("/")):
        raise ContentError(f"template '{template}' would leave the theme's templates folder",
                           fields.location("template"))
    return Source(
        path=path,
        display=display,
        digest=hashlib.sha256(data).hexdigest(),
        title=fields.string("title"),
        date=fields.date("date"),
        tags=fields.strings("tags"),
        summary=fields.string("summary"),
        slug=slug,
        draft=fields.boolean("draft"),
        template=template,
        weight=fields.integer("weight"),
        image=fields.string("image"),
        sites=fields.strings("sites"),
        not_sites=fields.strings("not_sites"),
        meta={key: value for key, value in values.items() if key not in KNOWN_FIELDS},
        body=body,
        body_line=body_line,
        locations=locations,
    )


class _FieldReader:
    def __init__(self, values: dict[str, Any], locations: dict[str, Location],
                 display: str) -> None:
        self.values = values
        self.locations = locations
        self.display = display

    def location(self, key: str) -> Location:
        return self.locations.get(key, Location(self.display, 1))

    def fail(self, key: str, expected: str) -> ContentError:
        value = self.values[key]
        return ContentError(f"front matter '{key}': expected {expected}, got {value!r}",
                            self.location(key))

    def string(self, key: str) -> str | None:
        value = self.values.get(key)
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key == "title":
            return str(value)
        if not isinstance(value, str):
            raise self.fail(key, "text")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.values.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            raise self.fail(key, "a list of names, e.g. [hiking, gear]")
        return tuple(str(v) for v in value)

    def boolean(self, key: str) -> bool:
        value = self.values.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(key, "true or false")
        return value

    def integer(self, key: str) -> int:
        value = self.values.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, "an integer")
        return value

    def date(self, key: str) -> dt.date | None:
        value = self.values.get(key)
        if value is None or isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.datetime.fromisoformat(value) if "T" in value or " " in value \
                    else dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(key, "a date such as 2026-03-14")
