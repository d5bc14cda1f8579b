"""The events store: SQLite in build/.sitegen/events.sqlite, with a versioned schema.

IP addresses never enter it: a visitor without a runtime id is a salted hash of IP and user
agent, the salt made at random when the store is created and kept inside it.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import events as q
from generator.analytics import visits
from generator.errors import SitegenError
from generator.events import EVENTS, SCHEMA_VERSION


def backup_path(path: Path, schema: int) -> Path:
    """Where the store is copied before a migration from `schema`."""
    return path.with_name(f"{path.name}.schema-{schema}.bak")


def upgrade(path: Path) -> str | None:
    """Migrate an existing store to this sitegen's schema; what to tell the user, once."""
    if not path.exists():
        return None
    # Read-only first: a build must not touch a store that needs nothing (its size and time
    # are what the experiment alarms are cached by).
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as reader:
            row = q.SCHEMA_READ(reader).fetchone()
    except sqlite3.Error:
        row = None
    if row is not None and int(row[0]) == SCHEMA_VERSION:
        return None
    store = EventStore(path)
    try:
        if store.migrated_from is None:
            return None
        return (
            f"{path}: events store migrated from schema {store.migrated_from} to "
            f"{SCHEMA_VERSION}; the store as it was is kept as "
            f"{backup_path(path, store.migrated_from).name}"
        )
    finally:
        store.close()


MIGRATIONS = {
    # version reached -> statements that bring the previous version to it
    2: ["ALTER TABLE events ADD COLUMN segments TEXT NOT NULL DEFAULT ''"],
    3: ["ALTER TABLE events ADD COLUMN client_ms INTEGER NOT NULL DEFAULT 0"],
    4: [
        "ALTER TABLE events ADD COLUMN referrer TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE events ADD COLUMN utm TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE events ADD COLUMN device TEXT NOT NULL DEFAULT ''",
    ],
    # The visits tables (created by SCHEMA) filled from every event stored so far.
    5: [query.statement for query in q.REBUILD_VISITS],
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id      TEXT NOT NULL,      -- hash of the source record: ingesting it again adds nothing
    site    TEXT NOT NULL,
    time    REAL NOT NULL,      -- seconds since the epoch, UTC
    type    TEXT NOT NULL,      -- view, goal, click, rec
    page    TEXT NOT NULL,      -- URL path of the page
    variant TEXT NOT NULL,      -- variant key served ('' = the default page)
    build   TEXT NOT NULL,      -- build version baked into the page ('' if unknown)
    visitor TEXT NOT NULL,      -- runtime visitor id, or salted hash of IP and user agent
    session TEXT NOT NULL,      -- runtime session id ('' = sessionise by time gaps)
    detail  TEXT NOT NULL,      -- '<experiment key>:<goal id>' of an experiment's goal or
                                -- click, a marked element's data-sg-goal, the recommended
                                -- page of a 'rec' click ('' for a view)
    segments TEXT NOT NULL DEFAULT '',  -- the visitor's segment ids, '.'-joined (pixel 'g')
    client_ms INTEGER NOT NULL DEFAULT 0,  -- the browser's clock in ms (pixel 't'; 0 unknown):
                                -- orders one visitor's events within a second
    referrer TEXT NOT NULL DEFAULT '',  -- a view's referring host ('' none or unknown): no
                                -- path or query, which may hold what identifies a person
    utm     TEXT NOT NULL DEFAULT '',   -- a view's utm_source ('' none)
    device  TEXT NOT NULL DEFAULT '',   -- desktop, mobile or tablet, from the user agent
    source  TEXT NOT NULL,      -- pixel, log (an HTML page in a plain log), jsonl
    ingest  INTEGER NOT NULL,   -- the ingests row that added it
    PRIMARY KEY (id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_site_time ON events (site, time);
-- Kept up to date by every ingest from the events of the visitors it added views of
-- (analytics/visits.py), so that reports aggregate visits instead of deriving them.
CREATE TABLE IF NOT EXISTS visits (
    site     TEXT NOT NULL,
    visitor  TEXT NOT NULL,
    session  TEXT NOT NULL,
    start    REAL NOT NULL,     -- the time of its first view
    end      REAL NOT NULL,     -- the time of its last view
    day      INTEGER NOT NULL,  -- the day it started, in days since the epoch (UTC)
    views    INTEGER NOT NULL,
    entry    TEXT NOT NULL,     -- its first page
    exit     TEXT NOT NULL,     -- its last page
    referrer TEXT NOT NULL,     -- of its first view, as are utm and device
    utm      TEXT NOT NULL,
    device   TEXT NOT NULL,
    segments TEXT NOT NULL,     -- the segments its views carried: '.'-joined lists, ','-joined
    PRIMARY KEY (site, visitor, session, start)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS page_visitors (
    site    TEXT NOT NULL,
    page    TEXT NOT NULL,
    visitor TEXT NOT NULL,
    day     INTEGER NOT NULL,   -- the day of the views
    views   INTEGER NOT NULL,
    onward  INTEGER NOT NULL,   -- views followed by another view in the same visit
    seconds REAL NOT NULL,      -- the time from those views to the next, summed
    PRIMARY KEY (site, page, visitor, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS remote_logs (
    site   TEXT NOT NULL,
    target TEXT NOT NULL,
    path   TEXT NOT NULL,       -- the log's path on the target
    offset INTEGER NOT NULL,    -- bytes already ingested (whole lines only)
    size   INTEGER NOT NULL,    -- the file's size when last read
    head   TEXT NOT NULL,       -- hash of its first bytes: a different head means rotated
    PRIMARY KEY (site, target, path)
);
CREATE TABLE IF NOT EXISTS ingests (
    id         INTEGER PRIMARY KEY,
    site       TEXT NOT NULL,
    sources    TEXT NOT NULL,   -- the files read
    lines      INTEGER NOT NULL,
    events     INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    bots       INTEGER NOT NULL,
    malformed  INTEGER NOT NULL,
    ignored    INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    site: str
    time: float
    type: str
    page: str
    variant: str
    build: str
    visitor: str
    session: str
    detail: str
    source: str
    segments: str = ""
    """The visitor's segment ids when the event was sent, joined by '.'."""
    client_ms: int = 0
    """The browser's clock when it sent the event, in milliseconds (0: not known)."""
    referrer: str = ""
    """The host a view came from (only a host: never a path or query)."""
    utm: str = ""
    """The `utm_source` of a view's URL."""
    device: str = ""
    """desktop, mobile or tablet ('' not known)."""

    def row(self, ingest: int) -> tuple[Any, ...]:
        """The event as a row of the store: its columns in `EVENT_COLUMNS` order."""
        return (
            self.id,
            self.site,
            self.time,
            self.type,
            self.page,
            self.variant,
            self.build,
            self.visitor,
            self.session,
            self.detail,
            self.source,
            self.segments,
            self.client_ms,
            self.referrer,
            self.utm,
            self.device,
            ingest,
        )


class EventStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.migrated_from: int | None = None
        """The schema this store had before opening it migrated it (None: it did not)."""
        self.visits = visits.Tracker()
        """The views added since the last ingest finished, for the visits tables."""
        self.connection = sqlite3.connect(path)
        found = self._version()
        if found is not None:
            refusal = EVENTS.refusal(found)
            if refusal is not None:  # refused before anything is written to it
                self.connection.close()
                raise SitegenError(f"{path}: this events store is in {refusal}")
            if found < SCHEMA_VERSION:
                self.backup(backup_path(path, found))
        self.connection.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL still never corrupts the store; a power cut may lose the last
        # ingest, which re-running adds again (events are keyed by their source line).
        self.connection.execute("PRAGMA synchronous=NORMAL")
        # 128 MiB of page cache (SQLite's default is 2 MiB): inserts keyed by hashes land
        # all over the events B-tree, and a store of a million events no longer fits in 2 MiB.
        self.connection.execute("PRAGMA cache_size=-131072")
        self.connection.executescript(SCHEMA)
        if found is None:
            with self.connection:
                q.META_INSERT(self.connection, "schema", str(SCHEMA_VERSION))
                q.META_INSERT(self.connection, "salt", secrets.token_hex(16))
        elif found < SCHEMA_VERSION:
            with self.connection:
                for reached in range(found + 1, SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS[reached]:
                        self.connection.execute(statement)
                q.SCHEMA_SET(self.connection, str(SCHEMA_VERSION))
            self.migrated_from = found
        self.salt = self._meta("salt") or ""

    def _version(self) -> int | None:
        """The schema of an existing store (None: a new, empty file)."""
        try:
            row = q.SCHEMA_READ(self.connection).fetchone()
        except sqlite3.OperationalError:
            return None  # no meta table: nothing was ever stored
        return None if row is None else int(row[0])

    def backup(self, target: Path) -> None:
        """A consistent copy of the store (SQLite's backup API), kept once: the first copy
        of a schema is never overwritten."""
        if target.exists():
            return
        temporary = target.with_name(target.name + ".tmp")
        temporary.unlink(missing_ok=True)
        with closing(sqlite3.connect(temporary)) as copy:
            self.connection.backup(copy)
        temporary.replace(target)

    def _meta(self, key: str) -> str | None:
        row = q.META_READ(self.connection, key).fetchone()
        return None if row is None else str(row[0])

    def begin_ingest(self, site: str, sources: list[str]) -> int:
        cursor = q.INGEST_BEGIN(self.connection, site, "\n".join(sources))
        return int(cursor.lastrowid or 0)

    def add(self, events: Iterable[Event], ingest: int) -> int:
        """Insert events; return how many were new (the rest were already there)."""
        return self.add_rows([event.row(ingest) for event in events])

    def add_rows(self, rows: list[tuple[Any, ...]]) -> int:
        """Insert rows already in the store's column order (`EVENT_COLUMNS`, the ingest
        last); return how many were new."""
        before = self.connection.total_changes
        q.EVENTS_INSERT.many(self.connection, rows)
        new = self.connection.total_changes - before
        self.visits.added(self.connection, rows, all_new=new == len(rows))
        return new

    def finish_ingest(self, ingest: int, counts: dict[str, int]) -> None:
        """Record the ingest's counts, bring the visits of the visitors it added views of up
        to date, and commit it all at once."""
        self.visits.finish(self.connection)
        q.INGEST_FINISH(
            self.connection,
            counts["lines"],
            counts["events"],
            counts["duplicates"],
            counts["bots"],
            counts["malformed"],
            counts["ignored"],
            ingest,
        )
        self.connection.commit()

    def remote_position(self, site: str, target: str, path: str) -> tuple[int, int, str] | None:
        row = q.REMOTE_POSITION(self.connection, site, target, path).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), str(row[2]))

    def set_remote_position(
        self, site: str, target: str, path: str, offset: int, size: int, head: str
    ) -> None:
        with self.connection:
            q.REMOTE_POSITION_SET(self.connection, site, target, path, offset, size, head)

    def count(self, site: str | None = None) -> int:
        if site is None:
            row = q.COUNT_ALL(self.connection).fetchone()
        else:
            row = q.COUNT_SITE(self.connection, site).fetchone()
        return int(row[0])

    def close(self) -> None:
        self.connection.close()
