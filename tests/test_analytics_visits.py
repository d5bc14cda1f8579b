"""The visits tables every ingest keeps up to date: extended in one pass for views later than
what is stored, recomputed from the events otherwise; either way equal to computing them
again from every event."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from generator.analytics import visits
from generator.analytics.ingest import ingest
from generator.analytics.store import Event, EventStore

T0 = 1_780_000_000.0


def tables(connection: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
    found = [
        (*row[:-1], frozenset(row[-1].split(",")) - {""})
        for row in connection.execute("SELECT * FROM visits ORDER BY site, visitor, session, start")
    ]
    pages = connection.execute(
        "SELECT site, page, visitor, day, views, onward, ROUND(seconds, 6) FROM page_visitors "
        "WHERE views > 0 ORDER BY site, page, visitor, day"
    ).fetchall()
    return found, pages


def from_scratch(path: Path, tmp_path: Path) -> tuple[list[Any], list[Any]]:
    copy = tmp_path / "scratch.sqlite"
    with sqlite3.connect(path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as connection:
        visits.rebuild(connection)
        found = tables(connection)
    copy.unlink()
    return found


def batch(rng: random.Random, number: int, start: float, span: float) -> list[Event]:
    """Views (and a few goals) of a handful of visitors, with runtime sessions and without."""
    made = []
    for i in range(number):
        visitor = f"v{rng.randrange(12)}"
        session = rng.choice(["", "", f"s{visitor}-{rng.randrange(2)}"])
        made.append(
            Event(
                f"e{start}-{i}",
                rng.choice(["brand", "other"]),
                start + round(rng.random() * span),
                "goal" if rng.random() < 0.1 else "view",
                rng.choice(["/", "/a/", "/b/", "/404.html"]),
                "",
                "",
                visitor,
                session,
                "",
                "log" if not session else "pixel",
                rng.choice(["", "", "newsletter", "newsletter.mobile"]),
                rng.randrange(1000),
                rng.choice(["", "search.example"]),
                "",
                "mobile",
            )
        )
    return made


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_up_to_date_across_ingests_equals_computing_from_every_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setattr(visits, "FRESH_LIMIT", 7)  # applied in the middle of ingests too
    rng = random.Random(seed)
    path = tmp_path / "events.sqlite"
    store = EventStore(path)
    ingests = [
        batch(rng, 40, T0, 3 * 3600),  # first: everything new
        batch(rng, 40, T0 + 3 * 3600, 3 * 3600),  # later views: extend visits
        batch(rng, 30, T0 + 3600, 7200),  # earlier views: between those stored
        batch(rng, 40, T0 + 6 * 3600 + 600, 86400),  # later again, across midnight
    ]
    ingests.append(ingests[1][:20] + batch(rng, 10, T0 + 2 * 86400, 3600))  # read again
    for events in ingests:
        number = store.begin_ingest("brand", ["test"])
        for start in range(0, len(events), 9):  # several batches, as ingest writes them
            store.add(events[start : start + 9], number)
        store.finish_ingest(
            number, dict(lines=0, events=0, duplicates=0, bots=0, malformed=0, ignored=0)
        )
        kept = tables(store.connection)
        assert kept == from_scratch(path, tmp_path)
        assert kept[0] and kept[1]
    store.close()


@pytest.mark.parametrize("kept", [200_000, 0])
def test_plain_log_views_taken_back_by_pixel_requests_leave_no_visit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kept: int
) -> None:
    """HTML hits stored before the log showed pixel requests, deleted by key or (too many
    to remember) by a scan: no visit of theirs is left."""
    import generator.analytics.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "LOG_ROWS_KEPT", kept)
    agent = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"
    log = tmp_path / "access.log"
    log.write_text(
        f'10.0.0.1 - - [01/Jun/2026:10:00:00 +0000] "GET /a/ HTTP/1.1" 200 5 "-" "{agent}"\n'
        f'10.0.0.1 - - [01/Jun/2026:10:00:01 +0000] "GET /_sg/p.gif?e=view&p=/a/&u=v1&s=s1 '
        f'HTTP/1.1" 200 5 "-" "{agent}"\n'
        f'10.0.0.2 - - [01/Jun/2026:10:00:02 +0000] "GET /b/ HTTP/1.1" 200 5 "-" "{agent}"\n'
    )
    path = tmp_path / "events.sqlite"
    store = EventStore(path)
    report = ingest(store, "brand", [log], [])
    assert report.events == 1
    assert tables(store.connection) == from_scratch(path, tmp_path)
    assert store.connection.execute("SELECT visitor, views FROM visits").fetchall() == [("v1", 1)]
    store.close()
