"""The build state: what each published file was made from, in SQLite.

One row per published file of each site: the data key its renderer was given, its sha256,
size and modification time as written, and the dependencies its render recorded, each with
the fingerprint it had. The next build compares these with the present to decide what to
re-render.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outputs (
    site         TEXT NOT NULL,   -- site name
    path         TEXT NOT NULL,   -- path under build/<site>/
    kind         TEXT NOT NULL,   -- manifest kind: page, asset, data
    data_key     TEXT NOT NULL,   -- hash of the inputs the plan gave the renderer
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    mtime_ns     INTEGER NOT NULL, -- of the file as written; a differing file is not reused
    dependencies TEXT NOT NULL,   -- [kind, key, fingerprint] triples (see encode_dependencies)
    PRIMARY KEY (site, path)
);
CREATE TABLE IF NOT EXISTS sources (
    path     TEXT PRIMARY KEY,  -- absolute path of a Markdown file
    mtime_ns INTEGER NOT NULL,  -- with size and inode: the file is unchanged if all match
    size     INTEGER NOT NULL,
    inode    INTEGER NOT NULL,
    record   TEXT NOT NULL      -- JSON of the parsed front matter (Source.to_record)
);
"""


FIELD_SEPARATOR = "\x1f"
RECORD_SEPARATOR = "\x1e"


def encode_dependencies(dependencies: tuple[tuple[str, str, str], ...]) -> str:
    """Triples joined by ASCII unit and record separators: decoding them is a `split`, several
    times faster than JSON, and every build decodes every record. Text that contains a
    separator (YAML cannot express one, so only a strange file name could) falls back to
    JSON, which always starts with '['."""
    text = RECORD_SEPARATOR.join(FIELD_SEPARATOR.join(triple) for triple in dependencies)
    if (
        text.count(FIELD_SEPARATOR) != 2 * len(dependencies)
        or text.startswith("[")
        or text.count(RECORD_SEPARATOR) != max(0, len(dependencies) - 1)
    ):
        return json.dumps(dependencies, separators=(",", ":"))
    return text


def decode_dependencies(text: str) -> tuple[tuple[str, str, str], ...]:
    if text.startswith("["):
        return tuple((kind, key, value) for kind, key, value in json.loads(text))
    if not text:
        return ()
    triples = []
    for item in text.split(RECORD_SEPARATOR):
        kind, key, value = item.split(FIELD_SEPARATOR)
        triples.append((kind, key, value))
    return tuple(triples)


@dataclass(frozen=True, slots=True)
class OutputRecord:
    """What the last successful build knew about one published file."""

    path: str
    kind: str
    data_key: str
    sha256: str
    size: int
    mtime_ns: int
    dependencies: str
    """What its render read, encoded (`encode_dependencies`): checked as stored, decoded
    only where needed."""


class BuildState:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(path)
        self.connection.executescript(SCHEMA)
        row = self.connection.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None or int(row[0]) != SCHEMA_VERSION:
            # An unknown layout is only a cache: start afresh rather than misread it.
            with self.connection:
                self.connection.execute("DELETE FROM outputs")
                self.connection.execute("DELETE FROM sources")
                self.connection.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                )

    def outputs(self, site: str) -> dict[str, OutputRecord]:
        rows = self.connection.execute(
            "SELECT path, kind, data_key, sha256, size, mtime_ns, dependencies FROM outputs "
            "WHERE site = ?",
            (site,),
        )
        return {
            row[0]: OutputRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6])
            for row in rows
        }

    def update_site(
        self, site: str, records: Iterable[OutputRecord], removed: Iterable[str]
    ) -> None:
        """Store the records of re-rendered files and drop those of removed ones; the rows of
        everything else stay as they are, so the cost follows the size of the change."""
        with self.connection:
            self.connection.executemany(
                "DELETE FROM outputs WHERE site = ? AND path = ?",
                [(site, path) for path in removed],
            )
            self.connection.executemany(
                "INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        site,
                        r.path,
                        r.kind,
                        r.data_key,
                        r.sha256,
                        r.size,
                        r.mtime_ns,
                        r.dependencies,
                    )
                    for r in records
                ],
            )

    def forget_site(self, site: str) -> None:
        with self.connection:
            self.connection.execute("DELETE FROM outputs WHERE site = ?", (site,))

    def cached_sources(self) -> dict[str, tuple[tuple[int, int, int], dict[str, Any]]]:
        rows = self.connection.execute("SELECT path, mtime_ns, size, inode, record FROM sources")
        return {row[0]: ((row[1], row[2], row[3]), json.loads(row[4])) for row in rows}

    def save_sources(self, entries: dict[str, tuple[tuple[int, int, int], dict[str, Any]]]) -> None:
        with self.connection:
            self.connection.executemany(
                "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?, ?)",
                [
                    (path, *key, json.dumps(record, separators=(",", ":")))
                    for path, (key, record) in entries.items()
                ],
            )

    def close(self) -> None:
        self.connection.close()
