"""`sitegen analytics db check [--apply]`: every registered query explained against the
store as it is, with indexes recommended where one measurably helps.

What it does, in order:

1. reads the journal mode (WAL lets readers and an ingest run together) and the size of
   each table and index (SQLite's `dbstat`);
2. refreshes the planner's statistics (`ANALYZE` with a row limit, then `PRAGMA optimize`);
3. runs `EXPLAIN QUERY PLAN` on every statement in `generator/events.py`, with parameters
   taken from the store (its first site, its latest ingest, ...), building the temporary
   tables the analyses build (empty) so their queries can be planned too;
4. flags a full scan of a large table (one with `LARGE` rows or more) and a temporary
   B-tree (a sort) over one, unless the statement reads every row on purpose (an export);
5. for each flagged statement, derives candidate indexes from its own conditions (equality
   columns first, then one range column, then the columns it sorts by), creates each inside
   a savepoint, runs the statement before and after and keeps a candidate only if the
   planner uses it and the work it measurably does (SQLite's virtual-machine steps, counted
   by a progress handler: the same on any machine and under any load; the wall time is shown
   beside it) falls by at least a fifth; everything is rolled back;
6. with `apply`, creates the recommended indexes and switches the store to WAL.

The store is never otherwise changed: the statements run inside a transaction that is rolled
back, and a statement that writes (the ingest's DELETE) is only ever run inside a savepoint.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator import events as q
from generator.analytics.store import upgrade
from generator.errors import SitegenError
from generator.events import Query

LARGE = 10_000
"""Rows from which a table's full scan is worth flagging."""
SAMPLE = 200_000
"""Rows of a large table a candidate index is measured on (a copy, in memory)."""
ANALYSIS_LIMIT = 1000
"""Rows per index `ANALYZE` samples (SQLite's `analysis_limit`): seconds, not minutes."""
GAIN = 0.8
"""A candidate index is recommended when the statement then does at most this share of the
work (SQLite virtual-machine steps) it does without it."""
STEP = 1000
"""VM instructions per count of the progress handler that measures a statement's work."""
NUMERIC = {
    "ingest",
    "since",
    "seconds",
    "offset",
    "size",
    "lines",
    "events",
    "duplicates",
    "bots",
    "malformed",
    "ignored",
    "time",
    "client_ms",
    "from",
    "to",
}


@dataclass(frozen=True)
class Table:
    name: str
    rows: int | None
    """Rows of a table (None for an index)."""
    bytes: int
    index: bool


@dataclass
class Plan:
    query: Query
    steps: list[str]
    scans: list[str] = field(default_factory=list)
    """Large tables the statement reads in full."""
    sorts: list[str] = field(default_factory=list)
    """Temporary B-trees over a large table's rows."""
    error: str = ""

    @property
    def flagged(self) -> bool:
        return bool(self.scans or self.sorts) and not self.query.whole


@dataclass
class Recommendation:
    table: str
    columns: tuple[str, ...]
    sample: int = 0
    """Rows of the table the effect was measured on (a sample of a larger table)."""
    effects: list[tuple[str, Cost, Cost]] = field(default_factory=list)
    """(statement, its cost without the index, with it), measured on the sample."""
    applied: bool = False

    @property
    def name(self) -> str:
        return f"{self.table}_by_{'_'.join(self.columns)}"

    @property
    def statement(self) -> str:
        return f"CREATE INDEX IF NOT EXISTS {self.name} ON {self.table} ({', '.join(self.columns)})"


@dataclass
class Check:
    path: Path
    journal_mode: str
    tables: list[Table]
    plans: list[Plan]
    recommendations: list[Recommendation]
    seconds: float = 0.0
    wal_set: bool = False
    migrated: str | None = None

    @property
    def problems(self) -> list[str]:
        found = []
        if self.journal_mode != "wal" and not self.wal_set:
            found.append(
                f"journal mode is {self.journal_mode}: an ingest and the readers block each "
                "other (--apply switches the store to WAL)"
            )
        for plan in self.plans:
            if plan.error:
                found.append(f"{plan.query.name}: cannot be planned: {plan.error}")
        found += [
            f"recommended: {r.statement} (--apply creates it)"
            for r in self.recommendations
            if not r.applied
        ]
        return found


@contextmanager
def _open(path: Path) -> Iterator[sqlite3.Connection]:
    if not path.is_file():
        raise SitegenError(f"{path}: no events store (run `sitegen analytics ingest` first)")
    try:
        with closing(sqlite3.connect(path, isolation_level=None)) as connection:
            connection.execute("PRAGMA temp_store = MEMORY")
            yield connection
    except sqlite3.DatabaseError as error:
        raise SitegenError(f"{path}: the events store cannot be read: {error}") from None


def check(path: Path, apply: bool = False) -> Check:
    started = time.perf_counter()
    with q.snapshot(path):  # a newer store refused, a damaged one reported, before anything
        pass
    migrated = upgrade(path)
    with _open(path) as connection:
        journal_mode = str(connection.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        tables = _tables(connection)
        connection.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
        connection.execute("ANALYZE")
        rows = {t.name: t.rows or 0 for t in tables if not t.index}
        connection.execute("BEGIN")
        try:
            samples = _samples(connection)
            plans = _plans(connection, samples, rows)
            recommendations = _recommend(connection, plans, samples)
        finally:
            connection.execute("ROLLBACK")
        result = Check(path, journal_mode, tables, plans, recommendations, migrated=migrated)
        if apply:
            for recommendation in recommendations:
                connection.execute(recommendation.statement)
                recommendation.applied = True
            if journal_mode != "wal":
                connection.execute("PRAGMA journal_mode = WAL")
                result.wal_set = True
        connection.execute("PRAGMA optimize")
    result.seconds = time.perf_counter() - started
    return result


def _tables(connection: sqlite3.Connection) -> list[Table]:
    names = {
        name: kind == "index"
        for name, kind in connection.execute(
            "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'index')"
        )
    }
    try:
        sizes = dict(
            connection.execute(
                "SELECT name, pgsize FROM dbstat WHERE aggregate = TRUE"  # a row per b-tree
            ).fetchall()
        )
    except sqlite3.OperationalError:  # an SQLite built without dbstat
        sizes = {}
    found = []
    for name, index in sorted(names.items()):
        rows = None
        if not index:
            rows = int(connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0])
        found.append(Table(name, rows, int(sizes.get(name, 0)), index))
    return found


def _samples(connection: sqlite3.Connection) -> dict[str, Any]:
    """A value for every placeholder name, from the store where it matters to the plan."""
    row = q.SAMPLE_SITE(connection).fetchone()
    site = row[0] if row else ""
    last = q.LAST_EVENT_TIME(connection, site).fetchone()[0] or 0.0
    ingest = q.LAST_INGEST(connection).fetchone()[0] or 0
    values: dict[str, Any] = {name: 0 for name in NUMERIC}
    values.update(
        site=site,
        since=last - 28 * 86400,
        ingest=ingest,
        seconds=7 * 86400,
        # A report's range: everything (in days for the visits tables, seconds for events).
        **{"from": 0, "to": 10**12},
        key="schema",
        kind="goal",
        page="/",
        type="view",
    )
    return values


def _params(query: Query, samples: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(samples.get(name, "") for name in query.params)


def _aliases(sql: str) -> dict[str, str]:
    """Alias (or name) -> table, for the tables a statement reads (not the table an INSERT
    writes: what it reads is what it selects from)."""
    found = {}
    for table, alias in re.findall(
        r"\b(?:FROM|JOIN|UPDATE)\s+(?:main\.|temp\.)?(\w+)(?:\s+(?:AS\s+)?(?!WHERE\b|JOIN\b|"
        r"ON\b|GROUP\b|ORDER\b|LIMIT\b|VALUES\b|SET\b|USING\b|LEFT\b|INNER\b)(\w+))?",
        sql,
        re.IGNORECASE,
    ):
        found[table] = table
        if alias:
            found[alias] = table
    return found


def _plan(
    connection: sqlite3.Connection, query: Query, samples: dict[str, Any], rows: dict[str, int]
) -> Plan:
    steps = [
        str(row[3])
        for row in connection.execute(f"EXPLAIN QUERY PLAN {query.sql}", _params(query, samples))
    ]
    plan = Plan(query, steps)
    aliases = _aliases(query.sql)
    large = {table for table in aliases.values() if rows.get(table, 0) >= LARGE}
    for step in steps:
        scan = re.match(r"SCAN (\w+)", step)
        if scan and aliases.get(scan.group(1), scan.group(1)) in large:
            plan.scans.append(aliases.get(scan.group(1), scan.group(1)))
        if step.startswith("USE TEMP B-TREE") and large:
            plan.sorts.append(f"{step[len('USE TEMP B-TREE FOR ') :].lower()} over {min(large)}")
    return plan


def _plans(
    connection: sqlite3.Connection, samples: dict[str, Any], rows: dict[str, int]
) -> list[Plan]:
    plans = []
    for query in q.ALL:
        params = _params(query, samples)
        if query.setup:
            connection.execute(query.sql, params)
            continue
        try:
            plans.append(_plan(connection, query, samples, rows))
        except sqlite3.Error as error:
            plans.append(Plan(query, [], error=str(error)))
            continue
        if query.creates:  # the analyses' later statements read it: made, empty
            connection.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {query.creates} AS "
                f"SELECT * FROM ({query.sql}) LIMIT 0",
                params,
            )
    return plans


def _shapes(sql: str, columns: set[str], sorted_too: bool) -> list[tuple[str, ...]]:
    """Column lists an index could have to serve `sql`: its equality columns, then one range
    column; or its equality columns, then the columns it sorts or groups by."""
    equal: list[str] = []
    ranged: list[str] = []
    where = re.split(r"\b(?:GROUP|ORDER)\s+BY\b", sql, flags=re.I)[0]
    for column, operator in re.findall(r"\b(?:\w+\.)?(\w+)\s*(=|IN\s*\(|>=|<=|>|<)", where, re.I):
        if column in columns and column not in equal and column not in ranged:
            if operator[0] in "=Ii":
                equal.append(column)
            elif not ranged:
                ranged.append(column)
    order: list[str] = []
    clause = re.search(r"\b(?:ORDER|GROUP)\s+BY\s+(.*)$", sql, re.I | re.S)
    if sorted_too and clause:
        for term in clause.group(1).split(","):
            name = (term.split() or [""])[0]
            if name in columns and name not in equal and name not in order:
                order.append(name)
    return [
        shape for shape in dict.fromkeys((tuple(equal + ranged), tuple(equal + order))) if shape
    ]


def _candidates(
    connection: sqlite3.Connection, plan: Plan
) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Indexes that could serve a flagged statement and that no index already covers."""
    for table in dict.fromkeys(plan.scans + [s.rsplit(" over ", 1)[1] for s in plan.sorts]):
        columns = {str(row[1]) for row in connection.execute(f'PRAGMA main.table_info("{table}")')}
        for shape in _shapes(plan.query.sql, columns, bool(plan.sorts)):
            if not _indexed(connection, table, shape):
                yield table, shape


def _indexed(connection: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> bool:
    """Does an existing index (or the primary key) already start with these columns?"""
    for (name,) in connection.execute(
        "SELECT name FROM main.sqlite_schema WHERE type = 'index' AND tbl_name = ?", (table,)
    ):
        indexed = [str(row[2]) for row in connection.execute(f'PRAGMA main.index_info("{name}")')]
        if tuple(indexed[: len(columns)]) == columns:
            return True
    return False


def _sample(connection: sqlite3.Connection, table: str) -> int:
    """A copy of `table` with its indexes, in the temporary schema (where it shadows the
    real one for unqualified names): at most `SAMPLE` rows, in primary-key order, which for
    the events (keyed by a hash) is a random sample. Returns its rows."""
    found = connection.execute(
        "SELECT sql FROM main.sqlite_schema WHERE name = ? AND type = 'table'", (table,)
    ).fetchone()
    connection.execute(re.sub(r"^CREATE TABLE", "CREATE TEMP TABLE", found[0]))
    primary = [
        str(row[1])
        for row in sorted(
            connection.execute(f'PRAGMA main.table_info("{table}")'), key=lambda r: r[5]
        )
        if row[5]
    ]
    order = f"ORDER BY {', '.join(primary)}" if primary else ""
    connection.execute(
        f'INSERT INTO temp."{table}" SELECT * FROM main."{table}" {order} LIMIT {SAMPLE}'
    )
    for (sql,) in connection.execute(
        "SELECT sql FROM main.sqlite_schema WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL",
        (table,),
    ).fetchall():
        connection.execute(re.sub(r"^CREATE (UNIQUE )?INDEX (\w+)", r"CREATE \1INDEX temp.\2", sql))
    connection.execute("ANALYZE temp")
    return int(connection.execute(f'SELECT COUNT(*) FROM temp."{table}"').fetchone()[0])


def _timed_sql(query: Query) -> str:
    """What is timed: a DELETE's search, as the count of what it would delete."""
    return re.sub(r"^DELETE FROM", "SELECT COUNT(*) FROM", query.sql)


@dataclass(frozen=True)
class Cost:
    """What running a statement took: SQLite virtual-machine steps (the work done, the same
    on any machine and under any load: what decides) and wall time (shown)."""

    steps: int
    seconds: float


def _cost(connection: sqlite3.Connection, query: Query, samples: dict[str, Any]) -> Cost:
    """Run the statement once and count its work (in units of `STEP` VM instructions)."""
    counted = [0]

    def count() -> int:
        counted[0] += 1
        return 0

    connection.set_progress_handler(count, STEP)
    try:
        started = time.perf_counter()
        connection.execute(_timed_sql(query), _params(query, samples)).fetchall()
        seconds = time.perf_counter() - started
    finally:
        connection.set_progress_handler(None, 0)
    return Cost(counted[0] * STEP, seconds)


def _uses(
    connection: sqlite3.Connection, query: Query, samples: dict[str, Any], index: str
) -> bool:
    plan = connection.execute(f"EXPLAIN QUERY PLAN {_timed_sql(query)}", _params(query, samples))
    return any(index in str(row[3]) for row in plan)


def _recommend(
    connection: sqlite3.Connection, plans: list[Plan], samples: dict[str, Any]
) -> list[Recommendation]:
    """Each flagged statement timed on a sample of its table, without and with each candidate
    index; the first candidate the planner uses and that saves a fifth of the time is kept."""
    found: dict[tuple[str, tuple[str, ...]], Recommendation] = {}
    sampled: dict[str, int] = {}
    for plan in plans:
        if not plan.flagged or plan.query.creates or plan.error:
            continue
        for table, columns in _candidates(connection, plan):
            if table not in sampled:
                sampled[table] = _sample(connection, table)
            candidate = Recommendation(table, columns, sample=sampled[table])
            before = _cost(connection, plan.query, samples)
            connection.execute("SAVEPOINT candidate")
            try:
                connection.execute(
                    candidate.statement.replace(
                        " INDEX IF NOT EXISTS ", " INDEX IF NOT EXISTS temp."
                    )
                )
                connection.execute("ANALYZE temp")
                used = _uses(connection, plan.query, samples, candidate.name)
                after = _cost(connection, plan.query, samples) if used else before
            finally:
                connection.execute("ROLLBACK TO candidate")
                connection.execute("RELEASE candidate")
            if used and before.steps and after.steps <= before.steps * GAIN:
                kept = found.setdefault((table, columns), candidate)
                kept.effects.append((plan.query.name, before, after))
                break
    return list(found.values())


def render(result: Check) -> str:
    """What `db check` prints."""
    lines = [f"{result.path}"]
    if result.migrated:
        lines.append(f"  {result.migrated}")
    mode = result.journal_mode + (" -> wal (set)" if result.wal_set else "")
    lines.append(f"  journal mode: {mode}")
    lines.append("  tables and indexes:")
    for table in result.tables:
        rows = "" if table.rows is None else f"{table.rows:>12,} rows"
        kind = "index" if table.index else "table"
        lines.append(f"    {kind} {table.name:<28} {rows:>17} {table.bytes / 2**20:>10.1f} MiB")
    lines.append(f"  statistics refreshed (ANALYZE, limit {ANALYSIS_LIMIT} rows; PRAGMA optimize)")
    flagged = [p for p in result.plans if p.flagged]
    expected = [p for p in result.plans if (p.scans or p.sorts) and p.query.whole]
    lines.append(
        f"  {len(result.plans)} statements explained: {len(flagged)} flagged, "
        f"{len(expected)} read every row on purpose"
    )
    for plan in flagged:
        what = ", ".join(
            [f"full scan of {t}" for t in plan.scans] + [f"temp B-tree for {s}" for s in plan.sorts]
        )
        lines.append(f"    {plan.query.name}: {what}")
        lines += [f"      {step}" for step in plan.steps]
    for recommendation in result.recommendations:
        state = "created" if recommendation.applied else "recommended"
        lines.append(f"  {state}: {recommendation.statement}")
        for name, before, after in recommendation.effects:
            lines.append(
                f"    {name}: {before.steps:,} -> {after.steps:,} SQLite steps "
                f"({before.steps / max(after.steps, 1):.1f}x; {before.seconds * 1000:.1f} ms -> "
                f"{after.seconds * 1000:.1f} ms), measured on {recommendation.sample:,} "
                f"rows of {recommendation.table}"
            )
    unhelped = [
        p.query.name
        for p in flagged
        if not any(p.query.name == e[0] for r in result.recommendations for e in r.effects)
    ]
    if unhelped:
        lines.append(f"  no index measurably helps: {', '.join(unhelped)}")
    for problem in result.problems:
        if not problem.startswith("recommended"):
            lines.append(f"  problem: {problem}")
    lines.append(f"  checked in {result.seconds:.2f} s")
    return "\n".join(lines)
