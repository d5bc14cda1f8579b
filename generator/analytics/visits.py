"""Visits and each visitor's views per page and day, kept beside the events.

A report over millions of views cannot afford to find visits at every run (a window over
every view: a minute at 5,000,000 events), so every ingest keeps two tables up to date:
`visits` (one row per visit: start and end, day, views, entry and exit page, where it came
from, the segments it carried) and `page_visitors` (views of a page by a visitor on a day,
and how many of them led on to another page in the same visit, after how long). A **visit**
is a runtime session, or for a plain log's views (no session id) a run of views without a
30-minute gap.

The usual ingest reads views later than anything stored for their visitor: they extend the
visitor's last visit or start new ones, worked out here in one pass over the new views.
Anything else (views earlier than what is stored, lines read a second time, HTML hits taken
back) has its visitors' visits computed again from all their events, in SQL: the result is
the same either way, which a test checks.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from itertools import groupby
from operator import itemgetter
from typing import Any

from generator import events as q

FRESH_LIMIT = 300_000
"""New views held before they are applied (bounds an ingest's memory)."""

View = tuple[str, str, str, float, int, str, str, str, str, str, str]
"""A new view: site, visitor, session, time, client_ms, page, referrer, utm, device,
segments, source."""


def update(connection: sqlite3.Connection, touched: Iterable[tuple[str, str]]) -> None:
    """Recompute the visits and page counts of the (site, visitor) pairs `touched` from all
    their events, inside the caller's transaction."""
    q.TOUCHED_CREATE(connection)
    q.TOUCHED_CLEAR(connection)
    q.TOUCHED_INSERT.many(connection, touched)
    for query in q.UPDATE_VISITS:
        query(connection)
    q.TOUCHED_CLEAR(connection)


def rebuild(connection: sqlite3.Connection) -> None:
    """Both tables made again from every event (a migrated store; the benchmark's store,
    written without ingest)."""
    for query in q.REBUILD_VISITS:
        query(connection)


class Tracker:
    """The views an ingest adds, applied to the visits tables in batches and when it ends."""

    def __init__(self) -> None:
        self.fresh: list[View] = []
        self.recompute: set[tuple[str, str]] = set()
        """(site, visitor) whose visits are computed again from their events."""
        self.log_visitors: set[tuple[str, str]] = set()
        """(site, visitor) of the plain-log views added (which ingest may take back)."""

    def added(
        self, connection: sqlite3.Connection, rows: list[tuple[Any, ...]], all_new: bool
    ) -> None:
        """`rows` were inserted (in `EVENT_COLUMNS` order); `all_new`: none was stored
        before (otherwise which were is not known: their visitors are recomputed)."""
        views = [row for row in rows if row[3] == "view"]
        if not all_new:
            self.recompute.update((row[1], row[7]) for row in views)
            return
        self.fresh += [
            (r[1], r[7], r[8], r[2], r[12], r[4], r[13], r[14], r[15], r[11], r[10]) for r in views
        ]
        self.log_visitors.update((row[1], row[7]) for row in views if row[10] == "log")
        if len(self.fresh) >= FRESH_LIMIT:
            self.apply(connection)

    def logs_taken_back(self) -> None:
        """Plain-log views added by this ingest were deleted again (the log turned out to
        have pixel requests): their visitors are recomputed."""
        self.recompute |= self.log_visitors

    def finish(self, connection: sqlite3.Connection) -> None:
        self.apply(connection)
        if self.recompute:
            update(connection, sorted(self.recompute))
        self.recompute.clear()
        self.log_visitors.clear()

    def apply(self, connection: sqlite3.Connection) -> None:
        fresh = sorted(v for v in self.fresh if (v[0], v[1]) not in self.recompute)
        self.fresh = []
        if not fresh:
            return
        partitions = [key for key, _ in groupby(fresh, key=itemgetter(0, 1, 2))]
        q.PARTITIONS_CREATE(connection)
        q.PARTITIONS_CLEAR(connection)
        q.PARTITIONS_INSERT.many(connection, partitions)
        last = {tuple(row[:3]): list(row) for row in q.LAST_VISITS(connection)}
        q.PARTITIONS_CLEAR(connection)
        visits: list[list[Any]] = []
        pages: dict[tuple[str, str, str, int], list[float]] = defaultdict(lambda: [0, 0, 0.0])
        for key, group in groupby(fresh, key=itemgetter(0, 1, 2)):
            views = list(group)
            visit = last.get(key)
            if visit is not None and views[0][3] <= visit[4]:
                self.recompute.add(key[:2])  # not after what is stored: from the events
                continue
            site, visitor, session = key
            for view in views:
                time, page = view[3], view[5]
                if visit is not None and (session or time - visit[4] <= q.VISIT_GAP):
                    # Columns as in the visits table: ... 4 end, 6 views, 8 exit, 12 segments.
                    counts = pages[(site, visit[8], visitor, int(visit[4] // 86400))]
                    counts[1] += 1  # the visit's last view led on to this one
                    counts[2] += time - visit[4]
                    visit[4], visit[6], visit[8] = time, visit[6] + 1, page
                    if view[9]:
                        visit[12] = _joined(visit[12], view[9])
                else:
                    if visit is not None:
                        visits.append(visit)
                    visit = [site, visitor, session, time, time, int(time // 86400), 1, page]
                    visit += [page, view[6], view[7], view[8], view[9]]
                pages[(site, page, visitor, int(time // 86400))][0] += 1
            if visit is not None:
                visits.append(visit)
        # A visit extended here and also recomputed later is replaced by the recomputation.
        q.VISIT_SET.many(connection, visits)
        q.PAGE_VISITORS_ADD.many(connection, [(*key, *counts) for key, counts in pages.items()])


def _joined(segments: str, more: str) -> str:
    """The segments a visit carried (','-joined, each as its view sent them) and another."""
    found = segments.split(",") if segments else []
    return segments if more in found else ",".join([*found, more])
