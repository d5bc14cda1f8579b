"""Reading Markdown sources: front matter split, YAML with lines, typed fields.

A `SourceReader` parses each file once per build, however many sites publish it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import yaml

from generator.config.sourced_yaml import load_sourced_yaml
from generator.content.links import Link, first_heading, internal_links
from generator.deprecations import FRONT_MATTER_KEYS
from generator.errors import ConfigError, ContentError, Location
from generator.formats import Format
from generator.layout import safe_parts

FRONT_MATTER_FENCE = "---"


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's C parser with one check PyYAML lacks: a key written twice is an error (the
    line-keeping loader then reports where)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
        if len(keys) != len(set(keys)):
            raise yaml.constructor.ConstructorError(None, None, "duplicate key", node.start_mark)
        return dict(super().construct_mapping(node, deep=deep))


FRONT_MATTER = Format("front matter", 1)
"""A page's front matter may name its format (`sitegen: 1`; absent: 1)."""
RECORD = 4
"""The layout of a source's record in the source cache. 2: `access` is read (a record
of 1 kept it among the other keys, and the page would be taken as public). 3:
`environments` is read. 4: the body's first heading and internal links are kept."""
SLUG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
KNOWN_FIELDS = (
    "title",
    "date",
    "tags",
    "summary",
    "slug",
    "draft",
    "template",
    "weight",
    "image",
    "sites",
    "not_sites",
    "sitegen",
    "access",
    "environments",
)


@dataclass(frozen=True)
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
    body_start: int
    """Offset of the body in the file's text (after front matter, newlines normalised)."""
    body_line: int
    """Line number of the body's first line in the file."""
    deprecations: tuple[str, ...] = ()
    """Each deprecated front-matter key used, `file:line: message` (kept in the source
    cache, so every build warns while the key is there)."""
    access: tuple[str, ...] | None = None
    """`access:` as written: None when absent; ('public',) or ('protected',) (anyone with
    the 'read' permission), else the role names (`members` or `{roles: [...]}`), checked
    against the network's roles by the build."""
    environments: tuple[str, ...] = ()
    """`environments: [staging]`: built only with `--env` one of these (empty: every
    environment)."""
    heading: str | None = None
    """The body's first heading (the title of a page whose front matter has none)."""
    links: tuple[Link, ...] = ()
    """The body's links and images into the site, with their lines (checked by the build)."""

    @cached_property
    def body(self) -> str:
        """The Markdown body, read when first needed: a build that renders nothing new never
        reads the files whose cached front matter it already has."""
        return _normalised_text(self.path.read_bytes(), self.display)[self.body_start :]

    @cached_property
    def locations(self) -> dict[str, Location]:
        """Front matter key -> where it was written; worked out only when a message needs it
        (the fast C parser that reads front matter does not keep lines)."""
        text = _normalised_text(self.path.read_bytes(), self.display)
        front, _, _ = split_front_matter(text, self.display)
        if not front:
            return {}
        document = load_sourced_yaml(front, self.display, line_offset=1)
        return {
            path[0]: loc
            for path, loc in document.locations.items()
            if len(path) == 1 and isinstance(path[0], str)
        }

    def location(self, key: str | None = None) -> Location:
        if key is not None and key in self.locations:
            return self.locations[key]
        return Location(self.display, 1)

    def to_record(self) -> dict[str, Any]:
        """A JSON-safe form for the source cache."""
        return {
            "digest": self.digest,
            "title": self.title,
            "date": _encode(self.date),
            "tags": self.tags,
            "summary": self.summary,
            "slug": self.slug,
            "draft": self.draft,
            "template": self.template,
            "weight": self.weight,
            "image": self.image,
            "sites": self.sites,
            "not_sites": self.not_sites,
            "meta": _encode(self.meta),
            "body_start": self.body_start,
            "body_line": self.body_line,
            "deprecations": list(self.deprecations),
            "access": None if self.access is None else list(self.access),
            "environments": list(self.environments),
            "heading": self.heading,
            "links": [list(link) for link in self.links],
            "record": RECORD,
        }

    @classmethod
    def from_record(cls, path: Path, display: str, record: dict[str, Any]) -> Source:
        return cls(
            path=path,
            display=display,
            digest=record["digest"],
            title=record["title"],
            date=_decode(record["date"]),
            tags=tuple(record["tags"]),
            summary=record["summary"],
            slug=record["slug"],
            draft=record["draft"],
            template=record["template"],
            weight=record["weight"],
            image=record["image"],
            sites=tuple(record["sites"]),
            not_sites=tuple(record["not_sites"]),
            meta=_decode(record["meta"]),
            body_start=record["body_start"],
            body_line=record["body_line"],
            deprecations=tuple(record.get("deprecations", ())),
            access=None if record.get("access") is None else tuple(record["access"]),
            environments=tuple(record.get("environments", ())),
            heading=record.get("heading"),
            links=tuple((str(t), int(n), bool(i)) for t, n, i in record.get("links", ())),
        )


def _encode(value: Any) -> Any:
    """Dates survive the JSON round trip as tagged objects; anything else JSON can't hold
    raises TypeError, and that file is simply not cached."""
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dict):
        return {str(key): _encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot cache {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "$datetime" in value:
            return dt.datetime.fromisoformat(value["$datetime"])
        if len(value) == 1 and "$date" in value:
            return dt.date.fromisoformat(value["$date"])
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


class SourceCache(Protocol):
    """Parsed front matter of earlier builds, keyed by the file's stat."""

    def cached_sources(self) -> dict[str, tuple[tuple[int, int, int], dict[str, Any]]]:
        """path -> ((mtime_ns, size, inode), record)."""
        ...

    def save_sources(
        self, entries: dict[str, tuple[tuple[int, int, int], dict[str, Any]]]
    ) -> None: ...


class SourceReader:
    """Parses Markdown files, each once per build however many sites publish them, and not at
    all when the source cache has the file at the same modification time, size and inode."""

    def __init__(self, root: Path, cache: SourceCache | None = None) -> None:
        self.root = root
        self._cache: dict[Path, Source] = {}
        self._store = cache
        self._stored = cache.cached_sources() if cache is not None else {}
        self._parsed: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = {}

    def display(self, path: Path) -> str:
        text, root = str(path), str(self.root)
        if text.startswith(root + os.sep):
            return text[len(root) + 1 :]
        return text

    def read(self, path: Path) -> Source:
        source = self._cache.get(path)
        if source is None:
            source = self._cache[path] = self._load(path)
        return source

    def _load(self, path: Path) -> Source:
        display = self.display(path)
        if self._store is None:
            return parse_source(path, display)
        stat = path.stat()
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        stored = self._stored.get(str(path))
        if stored is not None and tuple(stored[0]) == key and stored[1].get("record") == RECORD:
            return Source.from_record(path, display, stored[1])
        source = parse_source(path, display)
        try:
            self._parsed[str(path)] = (key, source.to_record())
        except TypeError:
            pass  # front matter with values JSON can't hold: parse it every time
        return source

    def save(self) -> None:
        """Remember what this build parsed, for the next one."""
        if self._store is not None and self._parsed:
            self._store.save_sources(self._parsed)
            self._parsed = {}


def split_front_matter(text: str, display: str) -> tuple[str | None, str, int]:
    """Return (front matter or None, body, line of the body's first line)."""
    if not text.startswith(FRONT_MATTER_FENCE):
        return None, text, 1
    first_newline = text.find("\n")
    if text[:first_newline].rstrip() != FRONT_MATTER_FENCE:
        return None, text, 1
    match = re.compile(r"^---[ \t]*$", re.MULTILINE).search(text, first_newline + 1)
    if match is None:
        raise ContentError(
            "front matter opened with '---' on line 1 is never closed: "
            "expected a line '---' after it",
            Location(display, 1),
        )
    front = text[first_newline + 1 : match.start()]
    body_start = match.end() + 1 if match.end() < len(text) else match.end()
    body_line = text.count("\n", 0, body_start) + 1
    return front, text[body_start:], body_line


def _normalised_text(data: bytes, display: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ContentError(f"not UTF-8 text (byte {error.start})", Location(display, 0)) from None
    return text.replace("\r\n", "\n")


def parse_source(path: Path, display: str) -> Source:
    data = path.read_bytes()
    text = _normalised_text(data, display)
    front, body, body_line = split_front_matter(text, display)
    values: dict[str, Any] = {}
    if front is not None and front.strip():
        values = _front_matter_values(front, display)
    fields = _FieldReader(values, front or "", display)
    deprecations = []
    for key in [key for key in values if key in FRONT_MATTER_KEYS]:
        deprecation = FRONT_MATTER_KEYS[key]
        deprecations.append(f"{fields.location(key)}: {deprecation.message()}")
        value = values.pop(key)  # read as the replacement, unless that is set too
        values.setdefault(deprecation.replacement, value)
    if "sitegen" in values:
        found = fields.integer("sitegen")
        refusal = FRONT_MATTER.refusal(found) if found >= 1 else "an unknown format"
        if refusal is not None:
            raise ContentError(
                f"sitegen: {found}: this front matter is in {refusal}", fields.location("sitegen")
            )
    slug = fields.string("slug")
    if slug is not None and not SLUG_PATTERN.fullmatch(slug):
        leaves = ".." in slug or "/" in slug or "\\" in slug
        raise ContentError(
            f"slug '{slug}' "
            + ("would leave the output root; " if leaves else "is not valid; ")
            + "expected one URL segment of letters, digits, '.', '-' and '_'",
            fields.location("slug"),
        )
    template = fields.string("template")
    if template is not None and safe_parts(template) is None:
        raise ContentError(
            f"template '{template}' would leave the theme's templates folder",
            fields.location("template"),
        )
    source = Source(
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
        body_start=len(text) - len(body),
        body_line=body_line,
        deprecations=tuple(deprecations),
        access=_access(values.get("access"), fields),
        environments=fields.strings("environments"),
        heading=first_heading(body),
        links=internal_links(body, body_line),
    )
    source.__dict__["body"] = body  # already in hand: spare the cached_property a read
    return source


def _access(value: Any, fields: _FieldReader) -> tuple[str, ...] | None:
    """`access: members`, `access: {roles: [partner]}`, `access: protected` or `public`."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return (value.strip(),)
    roles = value.get("roles") if isinstance(value, dict) and len(value) == 1 else None
    if isinstance(roles, list) and roles and all(isinstance(r, str) and r for r in roles):
        return tuple(roles)
    raise fields.fail(
        "access",
        "a role (access: members), 'protected' (anyone who may read), 'public', or "
        "{roles: [member, partner]}",
    )


def _front_matter_values(front: str, display: str) -> dict[str, Any]:
    """Parse front matter with libyaml's C loader; only when that fails, parse again with
    the line-keeping loader, whose error names the line and which also refuses duplicate
    keys."""
    try:
        values = yaml.load(front, Loader=_FastLoader)
    except yaml.YAMLError:
        values = None
    if values is None or not isinstance(values, dict):
        try:
            document = load_sourced_yaml(front, display, line_offset=1)
        except ConfigError as error:
            raise ContentError(f"front matter: {error.message}", error.location) from None
        if not isinstance(document.data, dict):
            raise ContentError(
                "front matter: expected a mapping of fields (key: value)", Location(display, 2)
            )
        values = document.data
    return values


class _FieldReader:
    def __init__(self, values: dict[str, Any], front: str, display: str) -> None:
        self.values = values
        self.front = front
        self.display = display

    def location(self, key: str) -> Location:
        document = load_sourced_yaml(self.front, self.display, line_offset=1)
        return document.locations.get((key,), Location(self.display, 1))

    def fail(self, key: str, expected: str) -> ContentError:
        value = self.values[key]
        return ContentError(
            f"front matter '{key}': expected {expected}, got {value!r}", self.location(key)
        )

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
                return (
                    dt.datetime.fromisoformat(value)
                    if "T" in value or " " in value
                    else dt.date.fromisoformat(value)
                )
            except ValueError:
                pass
        raise self.fail(key, "a date such as 2026-03-14")
