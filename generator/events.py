"""Every SQL statement sitegen issues on the events store, registered in one place, and the
consistent snapshot its readers read from.

A statement is a `Query`: its SQL with `?` placeholders, the names of those placeholders (so
`sitegen analytics db check` can fill them with values from the store and `EXPLAIN` it), and
what it needs first (the temporary tables an analysis builds). Callers run it by calling it:
`LAST_EVENT_TIME(connection, site)`. A test checks that no module outside this one spells SQL
against the store, so `db check` sees everything that runs.

Readers (the report, the build's recommendations and experiments, `recommend`, `plan`,
`export`) open the store with `snapshot()`: read-only, inside one read transaction, so they
see one consistent state while an ingest writes (the store is in WAL mode: neither waits for
the other).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import SitegenError
from generator.formats import Format

SCHEMA_VERSION = 5
EVENTS = Format("events store", SCHEMA_VERSION)


@dataclass(frozen=True, slots=True)
class Query:
    name: str
    sql: str
    params: tuple[str, ...] = ()
    """The name of each `?` placeholder, in order (what `db check` fills in)."""
    creates: str = ""
    """A temporary table made from this SELECT (run as `CREATE TEMP TABLE ... AS`)."""
    setup: bool = False
    """Creates or drops a temporary table or index: run by `db check`, not explained."""
    whole: bool = False
    """Reads every row on purpose (a count of everything, an export): a scan is expected."""
    purpose: str = ""

    @property
    def statement(self) -> str:
        if self.creates:
            return f"CREATE TEMP TABLE {self.creates} AS {self.sql}"
        return self.sql

    def __call__(self, connection: sqlite3.Connection, *values: Any) -> sqlite3.Cursor:
        if len(values) != len(self.params):
            raise TypeError(f"query {self.name} takes {self.params}, got {len(values)} values")
        return connection.execute(self.statement, values)

    def many(self, connection: sqlite3.Connection, rows: Iterable[Sequence[Any]]) -> None:
        connection.executemany(self.statement, rows)


ALL: list[Query] = []
"""Every registered statement, in the order a run issues them (temporary tables first)."""


def _register(name: str, sql: str, *params: str, **options: Any) -> Query:
    query = Query(name, " ".join(sql.split()), tuple(params), **options)
    if query.sql.count("?") != len(query.params):
        raise AssertionError(f"query {name}: {query.sql.count('?')} placeholders, {params}")
    ALL.append(query)
    return query


EVENT_COLUMNS = (
    "id",
    "site",
    "time",
    "type",
    "page",
    "variant",
    "build",
    "visitor",
    "session",
    "detail",
    "source",
    "segments",
    "client_ms",
    "referrer",
    "utm",
    "device",
    "ingest",
)

# --- the store itself (analytics/store.py) -------------------------------------------------

SCHEMA_READ = _register("schema_read", "SELECT value FROM meta WHERE key = 'schema'")
META_READ = _register("meta_read", "SELECT value FROM meta WHERE key = ?", "key")
META_INSERT = _register("meta_insert", "INSERT INTO meta VALUES (?, ?)", "key", "value")
SCHEMA_SET = _register("schema_set", "UPDATE meta SET value = ? WHERE key = 'schema'", "value")
INGEST_BEGIN = _register(
    "ingest_begin",
    "INSERT INTO ingests (site, sources, lines, events, duplicates, bots, malformed, ignored)"
    " VALUES (?, ?, 0, 0, 0, 0, 0, 0)",
    "site",
    "sources",
)
EVENTS_INSERT = _register(
    "events_insert",
    f"INSERT OR IGNORE INTO events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(EVENT_COLUMNS))})",
    *EVENT_COLUMNS,
)
INGEST_FINISH = _register(
    "ingest_finish",
    "UPDATE ingests SET lines = ?, events = ?, duplicates = ?, bots = ?, malformed = ?,"
    " ignored = ? WHERE id = ?",
    "lines",
    "events",
    "duplicates",
    "bots",
    "malformed",
    "ignored",
    "ingest",
)
REMOTE_POSITION = _register(
    "remote_position",
    "SELECT offset, size, head FROM remote_logs WHERE site = ? AND target = ? AND path = ?",
    "site",
    "target",
    "path",
)
REMOTE_POSITION_SET = _register(
    "remote_position_set",
    "INSERT OR REPLACE INTO remote_logs VALUES (?, ?, ?, ?, ?, ?)",
    "site",
    "target",
    "path",
    "offset",
    "size",
    "head",
)
COUNT_ALL = _register("count_all", "SELECT COUNT(*) FROM events", whole=True)
COUNT_SITE = _register("count_site", "SELECT COUNT(*) FROM events WHERE site = ?", "site")

# --- ingest (analytics/ingest.py): HTML hits of a log that also has pixel requests ---------

PIXEL_VISITORS_CREATE = _register(
    "pixel_visitors_create",
    "CREATE TEMP TABLE IF NOT EXISTS pixel_visitors (visitor TEXT PRIMARY KEY)",
    setup=True,
)
PIXEL_VISITORS_CLEAR = _register("pixel_visitors_clear", "DELETE FROM temp.pixel_visitors")
PIXEL_VISITORS_INSERT = _register(
    "pixel_visitors_insert", "INSERT OR IGNORE INTO temp.pixel_visitors VALUES (?)", "visitor"
)
LOG_HITS_WITHOUT_PIXEL = _register(
    "log_hits_without_pixel",
    "SELECT COUNT(*) FROM events WHERE ingest = ? AND source = 'log' AND visitor NOT IN "
    "(SELECT visitor FROM temp.pixel_visitors)",
    "ingest",
    purpose="HTML hits of visitors who never ran the pixel: bots",
)
LOG_HIT_DELETE = _register(
    "log_hit_delete",
    "DELETE FROM events WHERE id = ? AND ingest = ?",
    "id",
    "ingest",
    purpose="one HTML hit this ingest stored before the log showed the pixel",
)
LOG_HITS_DELETE = _register(
    "log_hits_delete",
    "DELETE FROM events WHERE ingest = ? AND source = 'log'",
    "ingest",
    purpose="HTML hits are the pixel's views again",
)

# --- visits, kept beside the events by every ingest (analytics/visits.py) -----------------

VISIT_GAP = 1800
"""A plain log's views (no session id) more than this many seconds apart are two visits."""

TOUCHED_CREATE = _register(
    "touched_create",
    "CREATE TEMP TABLE IF NOT EXISTS touched (site TEXT, visitor TEXT, "
    "PRIMARY KEY (site, visitor)) WITHOUT ROWID",
    setup=True,
)
TOUCHED_CLEAR = _register("touched_clear", "DELETE FROM temp.touched")
TOUCHED_INSERT = _register(
    "touched_insert", "INSERT OR IGNORE INTO temp.touched VALUES (?, ?)", "site", "visitor"
)
_STEPS = f"""
    SELECT site, visitor, session, time, page, referrer, utm, device, segments, entry, onward,
        MAX(CASE WHEN entry THEN time END) OVER (
            PARTITION BY site, visitor, session ORDER BY time, client_ms
        ) AS start
    FROM (
        SELECT site, visitor, session, time, client_ms, page, referrer, utm, device, segments,
            CASE WHEN previous IS NULL OR (session = '' AND time - previous > {VISIT_GAP})
                THEN 1 ELSE 0 END AS entry,
            CASE WHEN next IS NULL OR (session = '' AND next - time > {VISIT_GAP})
                THEN NULL ELSE next - time END AS onward
        FROM (
            SELECT e.site AS site, e.visitor AS visitor, e.session AS session, e.time AS time,
                e.client_ms AS client_ms, e.page AS page, e.referrer AS referrer, e.utm AS utm,
                e.device AS device, e.segments AS segments,
                LAG(e.time) OVER w AS previous, LEAD(e.time) OVER w AS next
            FROM {{source}} WHERE e.type = 'view'
            WINDOW w AS (PARTITION BY e.site, e.visitor, e.session ORDER BY e.time, e.client_ms)
        )
    )
"""
# Every view of the chosen visitors with what starts a visit (the first view of a runtime
# session; for a plain log's views, which have no session, also a gap of 30 minutes), the
# time to the visit's next view (NULL: its last view) and the time its visit started.
VISIT_STEPS = _register(
    "visit_steps",
    # One scan of the events, each looked up among the touched visitors: this runs only for
    # views that do not simply follow what is stored (lines read again, an older log read
    # late, HTML hits taken back), rarely enough that an index on visitors (a cost on
    # every insert of every ingest) does not pay.
    _STEPS.format(
        source="events e CROSS JOIN temp.touched t ON t.site = e.site AND t.visitor = e.visitor"
    ),
    creates="visit_steps",
    whole=True,
    purpose="the views of visitors whose visits are recomputed, marked with their visits",
)
VISIT_STEPS_ALL = _register(
    "visit_steps_all",
    _STEPS.format(source="events e"),
    creates="visit_steps",
    whole=True,
    purpose="every view, marked with its visit (a store migrated to visits)",
)
VISITS_DELETE = _register(
    "visits_delete",
    "DELETE FROM visits WHERE (site, visitor) IN (SELECT site, visitor FROM temp.touched)",
)
VISITS_CLEAR = _register("visits_clear", "DELETE FROM visits", whole=True)
VISITS_INSERT = _register(
    "visits_insert",
    """
    INSERT INTO visits
    SELECT site, visitor, session, start, MAX(time), CAST(start / 86400 AS INTEGER), COUNT(*),
        MAX(CASE WHEN entry THEN page END), MAX(CASE WHEN onward IS NULL THEN page END),
        MAX(CASE WHEN entry THEN referrer END), MAX(CASE WHEN entry THEN utm END),
        MAX(CASE WHEN entry THEN device END),
        COALESCE(GROUP_CONCAT(DISTINCT NULLIF(segments, '')), '')
    FROM temp.visit_steps GROUP BY site, visitor, session, start
    """,
)
PAGE_VISITORS_CLEAR = _register("page_visitors_clear", "DELETE FROM page_visitors", whole=True)
PAGE_VISITORS_INSERT = _register(
    "page_visitors_insert",
    # Every (site, page, visitor, day) a visitor's views yield is recomputed: REPLACE covers
    # each row made before (an event is never taken back after its ingest).
    "INSERT OR REPLACE INTO page_visitors "
    "SELECT site, page, visitor, CAST(time / 86400 AS INTEGER) AS day, COUNT(*), "
    "COUNT(onward), TOTAL(onward) FROM temp.visit_steps GROUP BY site, page, visitor, day",
)
VISIT_STEPS_DROP = _register("visit_steps_drop", "DROP TABLE temp.visit_steps", setup=True)
PARTITIONS_CREATE = _register(
    "partitions_create",
    "CREATE TEMP TABLE IF NOT EXISTS partitions (site TEXT, visitor TEXT, session TEXT, "
    "PRIMARY KEY (site, visitor, session)) WITHOUT ROWID",
    setup=True,
)
PARTITIONS_CLEAR = _register("partitions_clear", "DELETE FROM temp.partitions")
PARTITIONS_INSERT = _register(
    "partitions_insert",
    "INSERT INTO temp.partitions VALUES (?, ?, ?)",
    "site",
    "visitor",
    "session",
)
LAST_VISITS = _register(
    "last_visits",
    # The latest visit stored of each (site, visitor, session) an ingest has new views of.
    """
    SELECT v.site, v.visitor, v.session, v.start, v.end, v.day, v.views, v.entry, v.exit,
        v.referrer, v.utm, v.device, v.segments
    FROM temp.partitions p JOIN visits v ON v.site = p.site AND v.visitor = p.visitor
        AND v.session = p.session AND v.start = (
            SELECT MAX(start) FROM visits w
            WHERE w.site = p.site AND w.visitor = p.visitor AND w.session = p.session
        )
    """,
    purpose="where the new views of an ingest continue",
)
VISIT_SET = _register(
    "visit_set",
    "INSERT OR REPLACE INTO visits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "site",
    "visitor",
    "session",
    "start",
    "end",
    "day",
    "views",
    "entry",
    "exit",
    "referrer",
    "utm",
    "device",
    "segments",
)
PAGE_VISITORS_ADD = _register(
    "page_visitors_add",
    "INSERT INTO page_visitors VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT DO UPDATE SET views = views + excluded.views, "
    "onward = onward + excluded.onward, seconds = seconds + excluded.seconds",
    "site",
    "page",
    "visitor",
    "day",
    "views",
    "onward",
    "seconds",
)
UPDATE_VISITS = (
    VISIT_STEPS,
    VISITS_DELETE,
    VISITS_INSERT,
    PAGE_VISITORS_INSERT,
    VISIT_STEPS_DROP,
)
"""What an ingest runs once the visitors it added views of are in `temp.touched`."""
REBUILD_VISITS = (
    VISITS_CLEAR,
    PAGE_VISITORS_CLEAR,
    VISIT_STEPS_ALL,
    VISITS_INSERT,
    PAGE_VISITORS_INSERT,
    VISIT_STEPS_DROP,
)
"""The visits tables made again from every event."""

# --- readers of page views (recommend/site.py, experiments/plan.py) ------------------------

PAGE_VIEWS = _register(
    "page_views",
    "SELECT visitor, session, time, page, segments FROM events "
    # Views in the same second in the order their browser gave them (client_ms), then by
    # what they are: never by the event id, a hash that includes the site's name.
    "WHERE site = ? AND type = 'view' ORDER BY time, client_ms, visitor, session, page",
    "site",
    purpose="every view of a site, for recommendations",
)
LAST_VIEW_TIME = _register(
    "last_view_time", "SELECT MAX(time) FROM events WHERE site = ? AND type = 'view'", "site"
)
VISITORS_SINCE = _register(
    "visitors_since",
    "SELECT MIN(time), COUNT(DISTINCT visitor) FROM events "
    "WHERE site = ? AND type = 'view' AND time > ?",
    "site",
    "since",
    purpose="daily visitors for experiment planning",
)

# --- experiments (experiments/exposure.py) --------------------------------------------------

LAST_EVENT_TIME = _register(
    "last_event_time", "SELECT MAX(time) FROM events WHERE site = ?", "site"
)
SITE_EVENTS = _register(
    "site_events",
    "SELECT visitor, session, time, client_ms, type, page, variant, build, detail FROM events "
    "WHERE site = ? AND type IN ('view', 'goal', 'click')",
    "site",
    creates="site_events",
    purpose="one pass over a site's events for its experiments",
)
EXPOSURES = _register(
    "exposures",
    "SELECT visitor, session, time, client_ms, variant, build FROM temp.site_events "
    "WHERE type = 'view' AND variant != ''",
    creates="exposures",
)
EXPOSED_VARIANTS = _register("exposed_variants", "SELECT DISTINCT variant FROM temp.exposures")
VARIANT_ARMS_CREATE = _register(
    "variant_arms_create",
    "CREATE TEMP TABLE variant_arms (variant TEXT, key TEXT, arm TEXT, PRIMARY KEY (variant, key))",
    setup=True,
)
VARIANT_ARMS_INSERT = _register(
    "variant_arms_insert",
    "INSERT INTO temp.variant_arms VALUES (?, ?, ?)",
    "variant",
    "key",
    "arm",
)
EXPOSED_BUILDS = _register("exposed_builds", "SELECT DISTINCT build FROM temp.exposures")
STALE_CREATE = _register(
    "stale_create",
    "CREATE TEMP TABLE stale (key TEXT, build TEXT, PRIMARY KEY (key, build))",
    setup=True,
)
STALE_INSERT = _register("stale_insert", "INSERT INTO temp.stale VALUES (?, ?)", "key", "build")
STALE_EXPOSURES = _register(
    "stale_exposures",
    "SELECT v.key, COUNT(*) FROM temp.exposures e "
    "JOIN temp.variant_arms v ON v.variant = e.variant "
    "JOIN temp.stale s ON s.key = v.key AND s.build = e.build GROUP BY v.key",
)
FIRST_EXPOSURES = _register(
    "first_exposures",
    # Each visitor's first exposure in each experiment: the earliest view (server time, then
    # the browser's clock) whose variant names one of its arms, under a build that counts.
    """
    SELECT key, arm, visitor, session, time, client_ms, build FROM (
        SELECT v.key AS key, v.arm AS arm, e.visitor AS visitor, e.session AS session,
               e.time AS time, e.client_ms AS client_ms, e.build AS build,
               ROW_NUMBER() OVER (PARTITION BY v.key, e.visitor ORDER BY e.time, e.client_ms)
                   AS position
        FROM temp.exposures e JOIN temp.variant_arms v ON v.variant = e.variant
        WHERE NOT EXISTS (SELECT 1 FROM temp.stale s WHERE s.key = v.key AND s.build = e.build)
    ) WHERE position = 1
    """,
    creates="first",
)
FIRST_INDEX = _register(
    "first_index", "CREATE INDEX temp.first_by_key ON first (key, visitor)", setup=True
)
GOALS = _register(
    "goals",
    "SELECT visitor, session, time, client_ms, type, detail FROM temp.site_events "
    "WHERE type IN ('goal', 'click')",
    creates="goals",
)
GOALS_INDEX = _register(
    "goals_index", "CREATE INDEX temp.goals_by_visitor ON goals (visitor)", setup=True
)
VIEWS = _register(
    "views",
    "SELECT visitor, session, time, client_ms, page FROM temp.site_events WHERE type = 'view'",
    creates="views",
)
SITE_EVENTS_DROP = _register("site_events_drop", "DROP TABLE temp.site_events", setup=True)
VIEWS_INDEX = _register(
    "views_index", "CREATE INDEX temp.views_by_visit ON views (visitor, session)", setup=True
)
EXPOSURES_BY_DAY = _register(
    "exposures_by_day",
    "SELECT arm, build, CAST(time / 86400 AS INTEGER), COUNT(*), MIN(time) "
    "FROM temp.first WHERE key = ? GROUP BY arm, build, CAST(time / 86400 AS INTEGER)",
    "key",
)
AFTER = "(g.time > f.time OR (g.time = f.time AND g.client_ms >= f.client_ms))"
_CONVERSIONS = (
    "SELECT arm, CAST(converted / 86400 AS INTEGER), COUNT(*) FROM ("
    "  SELECT f.arm AS arm, MIN(g.time) AS converted "
    "  FROM temp.first f JOIN temp.goals g ON g.visitor = f.visitor "
    "  WHERE f.key = ? AND g.type = ? AND g.detail IN (?, ?) AND " + AFTER + " AND {window} "
    "  GROUP BY f.visitor"
    ") GROUP BY arm, CAST(converted / 86400 AS INTEGER)"
)
CONVERSIONS_IN_VISIT = _register(
    "conversions_in_visit",
    _CONVERSIONS.format(window="g.session = f.session"),
    "key",
    "kind",
    "detail",
    "detail",
    purpose="visitors converting in their exposure's visit, by arm and day",
)
CONVERSIONS_WITHIN = _register(
    "conversions_within",
    _CONVERSIONS.format(window="g.time - f.time <= ?"),
    "key",
    "kind",
    "detail",
    "detail",
    "seconds",
    purpose="visitors converting within a goal's days, by arm and day",
)
EXPOSURE_VISITS = _register(
    "exposure_visits",
    "SELECT arm, SUM(pages), SUM(pages * pages), SUM(pages = 1), SUM(lost) FROM ("
    "  SELECT f.arm AS arm, COUNT(*) AS pages, MAX(g.page = ?) AS lost "
    "  FROM temp.first f "
    "  JOIN temp.views g ON g.visitor = f.visitor AND g.session = f.session "
    "  WHERE f.key = ? AND " + AFTER + "  GROUP BY f.visitor"
    ") GROUP BY arm",
    "page",
    "key",
    purpose="pages, bounces and 404s of each exposure visit, by arm",
)

# --- export (analytics/export.py) ----------------------------------------------------------

EXPORT_ALL = _register(
    "export_all",
    f"SELECT {', '.join(EVENT_COLUMNS[:-1])} FROM events ORDER BY site, time, id",
    whole=True,
)
EXPORT_SITE = _register(
    "export_site",
    f"SELECT {', '.join(EVENT_COLUMNS[:-1])} FROM events WHERE site = ? ORDER BY time, id",
    "site",
    whole=True,
)

# --- the network report (report/data.py) -------------------------------------------------

REPORT_SITES_CREATE = _register(
    "report_sites_create", "CREATE TEMP TABLE report_sites (site TEXT PRIMARY KEY)", setup=True
)
REPORT_SITES_INSERT = _register(
    "report_sites_insert", "INSERT INTO temp.report_sites VALUES (?)", "site"
)


def _indexed_and_scanning(name: str, template: str, purpose: str) -> tuple[Query, Query]:
    """A statement over a range of sites and times, registered twice: through the (site,
    time) index, and (`+site`, `+time`: no index, not even a skip-scan) as a scan of the
    table in key order, for when it reads most of the store (eight times faster than an
    index lookup per row). Both make the temporary table `name`."""
    return (
        _register(
            name,
            template.format(site="site", time="time"),
            "from",
            "to",
            creates=name,
            purpose=purpose,
        ),
        _register(
            f"{name}_scan",
            template.format(site="+site", time="+time"),
            "from",
            "to",
            creates=name,
            whole=True,
            purpose=f"{purpose}, reading the whole table",
        ),
    )


_REPORT_OTHER = (
    "SELECT site, visitor, time, type, detail FROM events "
    "WHERE {site} IN (SELECT site FROM temp.report_sites) AND type IN ('goal', 'rec', 'click') "
    "AND {time} >= ? AND {time} < ?"
)
REPORT_OTHER, REPORT_OTHER_SCAN = _indexed_and_scanning(
    "report_other", _REPORT_OTHER, "the report's goals and clicks"
)
_IN_RANGE = "site IN (SELECT site FROM temp.report_sites) AND day >= ? AND day < ?"
"""The report's sites and days (days since the epoch: from, to exclusive)."""
REPORT_VISITS = _register(
    "report_visits",
    f"SELECT site, visitor, start, day, views, entry, exit, referrer, utm, device, segments "
    f"FROM visits WHERE {_IN_RANGE}",
    "from",
    "to",
    purpose="the visits that started in the report's range (counted in numpy)",
)
REPORT_LOST = _register(
    "report_lost",
    f"SELECT site, visitor, SUM(views) FROM page_visitors WHERE page = ? AND {_IN_RANGE} "
    "GROUP BY site, visitor",
    "page",
    "from",
    "to",
    purpose="views of the 404 page per visitor",
)
REPORT_GOALS = _register(
    "report_goals",
    "SELECT site, visitor, COUNT(*) FROM temp.report_other WHERE type = 'goal' "
    "GROUP BY site, visitor",
)
REPORT_PAGES = _register(
    "report_pages",
    # Views, visitors, views followed by another page and the seconds to it, per page: one
    # pass in the table's key order (site, page, visitor, day).
    f"SELECT site, page, SUM(views), COUNT(DISTINCT visitor), SUM(onward), SUM(seconds) "
    f"FROM page_visitors WHERE {_IN_RANGE} GROUP BY site, page",
    "from",
    "to",
)
REPORT_RECOMMENDED = _register(
    "report_recommended",
    "SELECT site, detail, COUNT(*), COUNT(DISTINCT visitor) FROM temp.report_other "
    "WHERE type = 'rec' GROUP BY site, detail",
)
REPORT_BOTS = _register(
    "report_bots",
    "SELECT site, SUM(bots), SUM(lines) FROM ingests "
    "WHERE site IN (SELECT site FROM temp.report_sites) GROUP BY site",
)

# --- db check (analytics/dbcheck.py): sample parameters for the others --------------------

SAMPLE_SITE = _register("sample_site", "SELECT MIN(site) FROM events")
LAST_INGEST = _register("last_ingest", "SELECT MAX(id) FROM ingests")

EXPORTED_COLUMNS = EVENT_COLUMNS[:-1]
"""What an export holds: every column but the ingest that added the event (private to the
store)."""


@contextmanager
def snapshot(path: Path) -> Iterator[sqlite3.Connection]:
    """The store at `path`, read-only, in one read transaction: what an ingest commits while
    it is open is not seen, and neither waits for the other. A store from a newer sitegen is
    refused; a file that is not a store, or a damaged one, is a clear error."""
    if not path.is_file():
        raise SitegenError(f"{path}: no events store (run `sitegen analytics ingest` first)")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise SitegenError(f"{path}: cannot open the events store: {error}") from None
    try:
        connection.execute("PRAGMA temp_store = MEMORY")
        connection.execute("BEGIN")  # deferred: the snapshot starts with the first read
        try:
            row = SCHEMA_READ(connection).fetchone()
        except sqlite3.OperationalError:
            row = None  # no meta table: a store nothing was ever written to
        if row is None:
            raise SitegenError(f"{path}: not an events store (it has no schema version)")
        refusal = EVENTS.refusal(int(row[0]))
        if refusal is not None:
            raise SitegenError(f"{path}: this events store is in {refusal}")
        yield connection
    except sqlite3.DatabaseError as error:
        raise SitegenError(f"{path}: the events store cannot be read: {error}") from None
    finally:
        connection.close()
