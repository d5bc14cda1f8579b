"""The events store's query registry and `sitegen analytics db check`: every statement is
registered and plans, full scans of large tables are found, an index is recommended only by
its measured effect and `--apply` creates it; bad stores get clear errors."""

from __future__ import annotations

import ast
import sqlite3
from collections.abc import Callable
from pathlib import Path

from generator import events
from generator.analytics.dbcheck import LARGE, check
from generator.analytics.store import Event, EventStore
from tests.conftest import Result

ROOT = Path(__file__).resolve().parent.parent
SQL_WORDS = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ", "CREATE TEMP", "DROP ")
SQL_ELSEWHERE = {
    "generator/events.py",  # the registry
    "generator/analytics/store.py",  # the schema itself and its migrations (DDL)
    "generator/analytics/dbcheck.py",  # its catalogue reads (sqlite_schema, dbstat, PRAGMA)
    "generator/pipeline/state.py",  # another database: the build's own state
}


def store_with_ingests(path: Path, ingests: int = 25, per_ingest: int = 800) -> None:
    """`ingests` ingests of `per_ingest` events each, half of them from a plain log."""
    store = EventStore(path)
    for number in range(ingests):
        ingest = store.begin_ingest("trailhead", [f"access.log.{number}"])
        store.add(
            [
                Event(
                    f"{number:04d}{i:028x}",
                    "trailhead" if i % 3 else "alpine",
                    1.7e9 + number * 86400 + i,
                    "view",
                    f"/guides/{i % 40}/",
                    "",
                    "b1",
                    f"v{i % 300}",
                    f"s{i % 300}",
                    "",
                    "log" if i % 2 else "pixel",
                )
                for i in range(per_ingest)
            ],
            ingest,
        )
        store.finish_ingest(
            ingest,
            dict(lines=per_ingest, events=per_ingest, duplicates=0, bots=0, malformed=0, ignored=0),
        )
    store.close()


def test_no_module_spells_sql_against_the_store_outside_the_registry() -> None:
    found = []
    for path in sorted((ROOT / "generator").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in SQL_ELSEWHERE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value.lstrip().startswith(SQL_WORDS):
                    found.append(f"{relative}:{node.lineno}: {node.value[:60]}")
    assert found == []


def test_every_registered_statement_plans_on_a_new_store(tmp_path: Path) -> None:
    path = tmp_path / "build/.sitegen/events.sqlite"
    EventStore(path).close()
    result = check(path)
    assert {plan.query.name for plan in result.plans} | {q.name for q in events.ALL if q.setup} == {
        q.name for q in events.ALL
    }
    assert [plan.query.name for plan in result.plans if plan.error] == []
    assert [plan.query.name for plan in result.plans if plan.flagged] == []  # nothing is large
    assert result.problems == []
    names = [q.name for q in events.ALL]
    assert len(names) == len(set(names))


def test_a_scan_is_found_an_index_recommended_by_its_measured_effect_and_applied(
    tmp_path: Path, sitegen: Callable[..., Result]
) -> None:
    path = tmp_path / "build/.sitegen/events.sqlite"
    store_with_ingests(path)
    assert EventStore(path).count() >= LARGE

    first = sitegen(tmp_path, "analytics", "db", "check")
    assert first.code == 1, first.out
    assert "log_hits_delete: full scan of events" in first.out
    assert "table events" in first.out and "20,000 rows" in first.out
    assert "journal mode: wal" in first.out
    result = check(path)
    (recommended,) = [r for r in result.recommendations if r.columns == ("ingest", "source")]
    effects = dict((name, (before, after)) for name, before, after in recommended.effects)
    before, after = effects["log_hits_delete"]
    assert after.steps < before.steps * 0.8  # the work measured, not assumed
    assert recommended.sample == 20_000
    with sqlite3.connect(path) as connection:  # the check left the store's schema alone
        indexes = {row[0] for row in connection.execute("SELECT name FROM sqlite_schema")}
    assert recommended.name not in indexes

    applied = sitegen(tmp_path, "analytics", "db", "check", "--apply")
    assert applied.code == 0, applied.out
    assert f"created: {recommended.statement}" in applied.out
    again = check(path)
    assert "log_hits_delete" not in [plan.query.name for plan in again.plans if plan.flagged]
    assert again.problems == []
    store = EventStore(path)  # the store still opens and takes events with the new index
    assert store.count() == 20_000
    store.close()


def test_journal_mode_is_checked_and_set(tmp_path: Path, sitegen: Callable[..., Result]) -> None:
    path = tmp_path / "build/.sitegen/events.sqlite"
    EventStore(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode = DELETE")
    found = sitegen(tmp_path, "analytics", "db", "check")
    assert found.code == 1 and "journal mode is delete" in found.out
    fixed = sitegen(tmp_path, "analytics", "db", "check", "--apply")
    assert fixed.code == 0 and "journal mode: delete -> wal (set)" in fixed.out
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_bad_stores_get_clear_errors(tmp_path: Path, sitegen: Callable[..., Result]) -> None:
    missing = sitegen(tmp_path, "analytics", "db", "check")
    assert missing.code == 1
    assert "no events store (run `sitegen analytics ingest` first)" in missing.err

    path = tmp_path / "build/.sitegen/events.sqlite"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database, just bytes " * 200)
    corrupt = sitegen(tmp_path, "analytics", "db", "check")
    assert corrupt.code == 1
    assert "the events store cannot be read: file is not a database" in corrupt.err
    assert path.read_bytes().startswith(b"this is not a database")

    path.unlink()
    EventStore(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    newer = sitegen(tmp_path, "analytics", "db", "check")
    assert newer.code == 1
    assert "written by a newer sitegen" in newer.err
