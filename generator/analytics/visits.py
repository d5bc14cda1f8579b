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
from collections.abc import Iterable
from typing import Any

from generator import events as q

FRESH_LIMIT = 300_000
"""New views held before they are applied (bounds an ingest's memory)."""

View = tuple[str, str, str, float, int, str, str, str, str, str, str, str]
"""A new view: site, visitor, session, time, client_ms, page, referrer, utm, device,
segments, source, event id."""


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
            (r[1], r[7], r[8], r[2], r[12], r[4], r[13], r[14], r[15], r[11], r[10], r[0])
            for r in views
        ]
        self.log_visitors.update((row[1], row[7]) for row in views if row[10] == "log")
        if len(self.fresh) >= FRESH_LIMIT:
            self.apply(connection)

    def taken_back(self, ids: set[str] | None) -> None:
        """Plain-log views added by this ingest were deleted again (the log turned out to
        have pixel requests): the events `ids`, or (None) an unknown set of them. Views not
        yet applied are dropped; otherwise their visitors are recomputed."""
        if ids is not None:
            kept = [view for view in self.fresh if view[11] not in ids]
            if len(self.fresh) - len(kept) == len(ids):
                self.fresh = kept
                return
        self.recompute |= self.log_visitors

    def finish(self, connection: sqlite3.Connection) -> None:
        self.apply(connection)
        if self.recompute:
            update(connection, sorted(self.recompute))
        self.recompute.clear()
        self.log_visitors.clear()

    def apply(self, connection: sqlite3.Connection) -> None:
        """The new views held so far, into the visits tables."""
        fresh = sorted(v for v in self.fresh if (v[0], v[1]) not in self.recompute)
        self.fresh = []
        if not fresh:
            return
        q.PARTITIONS_CREATE(connection)
        q.PARTITIONS_CLEAR(connection)
        q.PARTITIONS_INSERT.many(connection, dict.fromkeys(view[:3] for view in fresh))
        last = {tuple(row[:3]): list(row) for row in q.LAST_VISITS(connection)}
        q.PARTITIONS_CLEAR(connection)
        walk = _Walk(last)
        for view in fresh:  # sorted: each partition's views together, in time order
            walk.view(view)
        walk.close()
        self.recompute |= walk.later
        # A visit extended here and also recomputed later is replaced by the recomputation.
        q.VISIT_SET.many(connection, walk.visits)
        none = [0, 0.0]
        rows = [(*day, count, *walk.onward.pop(day, none)) for day, count in walk.views.items()]
        rows += [(*day, 0, *counts) for day, counts in walk.onward.items()]
        rows.sort()  # in the table's key order: neighbouring writes share pages
        q.PAGE_VISITORS_ADD.many(connection, rows)


PageDay = tuple[str, str, str, int]
"""site, page, visitor, day: a row of page_visitors."""


class _Walk:
    """One pass over new views in (site, visitor, session, time) order, continuing the
    last visit stored for each partition. Rows are lists in the visits table's column
    order: 0 site, 1 visitor, 2 session, 3 start, 4 end, 5 day, 6 views, 7 entry, 8 exit,
    9 referrer, 10 utm, 11 device, 12 segments."""

    def __init__(self, last: dict[tuple[Any, ...], list[Any]]) -> None:
        self.last = last
        self.visits: list[list[Any]] = []
        self.views: dict[PageDay, int] = {}
        self.onward: dict[PageDay, list[float]] = {}
        """(views followed by another in the visit, seconds to it) per page and day."""
        self.later: set[tuple[str, str]] = set()
        """(site, visitor) with new views not after their stored visits."""
        self.key: tuple[Any, ...] = ()
        self.visit: list[Any] | None = None
        self.skipped = False

    def view(self, view: View) -> None:
        site, visitor, session, time, _, page = view[:6]
        visit = self.visit
        if view[:3] != self.key:
            self.close()
            self.key = view[:3]
            visit = self.last.get(self.key)
            self.skipped = visit is not None and time <= visit[4]
            if self.skipped:  # recomputed from the events instead
                self.later.add((site, visitor))
                visit = None
        if self.skipped:
            return
        if visit is not None and (session or time - visit[4] <= q.VISIT_GAP):
            before = (site, visit[8], visitor, int(visit[4] // 86400))
            counts = self.onward.get(before)
            if counts is None:
                counts = self.onward[before] = [0, 0.0]
            counts[0] += 1  # the visit's last view led on to this one
            counts[1] += time - visit[4]
            visit[4], visit[6], visit[8] = time, visit[6] + 1, page
            if view[9]:
                visit[12] = _joined(visit[12], view[9])
        else:
            if visit is not None:
                self.visits.append(visit)
            visit = [site, visitor, session, time, time, int(time // 86400), 1, page, page]
            visit += view[6:10]
        self.visit = visit
        day = (site, page, visitor, int(time // 86400))
        self.views[day] = self.views.get(day, 0) + 1

    def close(self) -> None:
        """The partition under way is done."""
        if self.visit is not None:
            self.visits.append(self.visit)
        self.visit = None


def _joined(segments: str, more: str) -> str:
    """The segments a visit carried (','-joined, each as its view sent them) and another."""
    found = segments.split(",") if segments else []
    return segments if more in found else ",".join([*found, more])
