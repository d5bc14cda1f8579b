"""What the network report shows, read from one snapshot of the events store.

Two passes over the store for the chosen sites and dates (views with their visits marked by
window functions; goals and clicks), into temporary tables; every table of the report is a
GROUP BY over those. A **visit** is a runtime session, or for a plain log's views (no
session id) a run of views without a 30-minute gap; a **bounce** is a visit of one view; a
visitor is a runtime visitor id (or, for a plain log, a salted hash of IP and agent).

Privacy: no IP address is in the store; every count that rests on fewer than `k` visitors
is suppressed (None) here, before anything is rendered or exported.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from generator import events as q
from generator.content.page import NOT_FOUND_URL
from generator.errors import SitegenError
from generator.events import snapshot

EPOCH = dt.date(1970, 1, 1)


@dataclass
class Totals:
    """One site's (or the network's) measures over the range."""

    visitors: int = 0
    visits: int = 0
    views: int = 0
    bounces: int = 0
    not_found: int = 0
    goals: int = 0
    converted: int = 0
    """Visitors with at least one goal."""
    sums: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Measure -> (sum, sum of squares) per visitor, for the comparison's tests."""

    @property
    def pages_per_visit(self) -> float | None:
        return self.views / self.visits if self.visits else None

    @property
    def bounce_rate(self) -> float | None:
        return self.bounces / self.visits if self.visits else None


@dataclass
class Table:
    """A table of the report: its columns and rows, as rendered and exported."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""
    suppressed: int = 0
    """Rows left out for resting on fewer than k visitors."""


@dataclass
class ReportData:
    sites: list[str]
    start: dt.date
    end: dt.date
    """The last day included."""
    k: int
    totals: dict[str, Totals]
    network: Totals
    days: dict[str, dict[dt.date, tuple[int | None, int | None, int | None]]]
    """Site ('' the network) -> day -> (visitors, visits, views); None where suppressed."""
    bots: dict[str, tuple[int, int]]
    """Site -> (bot lines, all lines) of every ingest (bots are dropped at ingest: no dates)."""
    tables: dict[str, dict[str, Table]]
    """Site ('' the network) -> table name -> table."""
    segments: Table | None = None
    overlaps: Table | None = None
    crossings: Table | None = None
    shared_visitors: int | None = 0


def _day(number: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(number))


def _seconds(day: dt.date) -> float:
    return float((day - EPOCH).days * 86400)


def read(
    store: Path,
    sites: list[str],
    start: dt.date | None,
    end: dt.date | None,
    k: int,
    shared: dict[str, dict[str, str]],
    segments: dict[str, list[str]],
    whole: bool = False,
) -> ReportData:
    """The report's data for `sites` between `start` and `end` (inclusive; None: all).
    `shared` maps each pool page published on several sites to its URL on each site;
    `segments` each segment id to the sites defining it; `whole`: the report covers most of
    the store (read it in one scan rather than through the index)."""
    if not store.is_file():
        raise SitegenError(
            f"{store}: no events store: nothing to report (run `sitegen analytics ingest`)"
        )
    low = _seconds(start) if start else float("-inf")
    high = _seconds(end + dt.timedelta(days=1)) if end else float("inf")
    with snapshot(store) as connection:
        connection.execute("PRAGMA temp_store = FILE")  # the views may outgrow memory
        connection.execute("PRAGMA cache_size = -262144")  # 256 MiB of pages, for the sorts
        connection.execute("PRAGMA mmap_size = 4294967296")  # the store read without copies
        q.REPORT_SITES_CREATE(connection)
        q.REPORT_SITES_INSERT.many(connection, [(site,) for site in sites])
        if whole:
            q.REPORT_STEPS_SCAN(connection, low, high)
            q.REPORT_OTHER_SCAN(connection, low, high)
        else:
            q.REPORT_STEPS(connection, low, high)
            q.REPORT_OTHER(connection, low, high)
        days_found = q.REPORT_NETWORK_DAYS(connection).fetchall()
        if not days_found:
            span = f"{start or 'the start'} to {end or 'the end'}"
            raise SitegenError(
                f"{store}: no page views of {', '.join(sites)} from {span}: nothing to report"
            )
        data = ReportData(
            sites=sites,
            start=start or _day(min(row[0] for row in days_found)),
            end=end or _day(max(row[0] for row in days_found)),
            k=k,
            totals={site: Totals() for site in sites},
            network=Totals(),
            days=defaultdict(dict),
            bots={},
            tables=defaultdict(dict),
        )
        _totals(connection, data)
        for day, visitors, visits, views in days_found:
            data.days[""][_day(day)] = _suppressed(data, visitors, visits, views)
        for site, day, visitors, visits, views in q.REPORT_DAYS(connection):
            data.days[site][_day(day)] = _suppressed(data, visitors, visits, views)
        for site, bots, lines in q.REPORT_BOTS(connection):
            data.bots[site] = (int(bots or 0), int(lines or 0))
        _pages(connection, data, shared)
        _sources(connection, data)
        _recommended(connection, data)
        _segments(connection, data, segments)
        _crossings(connection, data)
    return data


def _suppressed(
    data: ReportData, visitors: int, visits: int, views: int
) -> tuple[int | None, int | None, int | None]:
    if visitors < data.k:
        return (None, None, None)
    return (visitors, visits, views)


def _totals(connection: sqlite3.Connection, data: ReportData) -> None:
    network = data.network
    for row in q.REPORT_PER_VISITOR(connection, NOT_FOUND_URL):
        site, visitors, views, views2, visits, visits2, bounces, lost, lost2 = row[:9]
        goals, goals2, converted = row[9:]
        totals = Totals(
            visitors=visitors,
            visits=visits,
            views=views,
            bounces=bounces,
            not_found=lost,
            goals=goals,
            converted=converted,
            sums={
                "views": (views, views2),
                "visits": (visits, visits2),
                "not_found": (lost, lost2),
                "goals": (goals, goals2),
            },
        )
        data.totals[site] = totals
        for name in ("visitors", "visits", "views", "bounces", "not_found", "goals", "converted"):
            setattr(network, name, getattr(network, name) + getattr(totals, name))
    # A visitor id seen on two sites is one visitor of the network only when the sites share
    # ids; the network's visitors are the distinct ids of the days' union.
    network.visitors = int(q.REPORT_NETWORK_VISITORS(connection).fetchone()[0])


def _top(
    data: ReportData, rows: list[list[Any]], visitors_column: int, limit: int = 25
) -> tuple[list[list[Any]], int]:
    """Rows resting on at least k visitors, the largest first (by the first count column)."""
    kept = [row for row in rows if row[visitors_column] >= data.k]
    kept.sort(key=lambda row: (-row[1], str(row[0])))
    return kept[:limit], len(rows) - len(kept)


def _pages(
    connection: sqlite3.Connection, data: ReportData, shared: dict[str, dict[str, str]]
) -> None:
    by_site: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in q.REPORT_PAGES(connection):
        by_site[row[0]].append(row[1:])
    for site, rows in by_site.items():
        pages, left = _top(data, [[p, v, u] for p, v, u, *_ in rows], 2)
        data.tables[site]["pages"] = Table(
            "pages", "Top pages", ["page", "views", "visitors"], pages, suppressed=left
        )
        entries, left = _top(data, [[r[0], r[3], r[4]] for r in rows if r[3]], 2)
        data.tables[site]["entries"] = Table(
            "entries",
            "Entry pages",
            ["page", "visits started", "visitors"],
            entries,
            suppressed=left,
        )
        exits, left = _top(data, [[r[0], r[5], r[6]] for r in rows if r[5]], 2)
        data.tables[site]["exits"] = Table(
            "exits", "Exit pages", ["page", "visits ended", "visitors"], exits, suppressed=left
        )
    content = []
    left = 0
    for key, urls in sorted(shared.items()):
        for site, url in sorted(urls.items()):
            found = next((row for row in by_site.get(site, []) if row[0] == url), None)
            if found is None:
                continue
            _, views, visitors, *_, onward, seconds = found
            if visitors < data.k:
                left += 1
                continue
            content.append(
                [
                    key,
                    site,
                    url,
                    views,
                    visitors,
                    round(onward / views, 3) if views else None,
                    round(seconds, 1) if seconds is not None else None,
                ]
            )
    data.tables[""]["shared"] = Table(
        "shared",
        "Shared content",
        [
            "pool page",
            "site",
            "url",
            "views",
            "visitors",
            "onward share",
            "seconds to next page",
        ],
        content,
        note="Each pool page published on several sites, on each site: its views, the share of "
        "views followed by another page in the same visit (onward clicks), and the mean time "
        "to that next page.",
        suppressed=left,
    )


def _sources(connection: sqlite3.Connection, data: ReportData) -> None:
    grouped: dict[str, dict[str, list[list[Any]]]] = defaultdict(
        lambda: {"referrer": [], "utm": [], "device": []}
    )
    for site, kind, value, visits, visitors in q.REPORT_SOURCES(connection):
        grouped[site][kind].append([value or "(none)", visits, visitors])
    titles = {"referrer": "Referrers", "utm": "Campaigns (utm_source)", "device": "Devices"}
    for site, kinds in grouped.items():
        for kind, found in kinds.items():
            rows, left = _top(data, found, 2)
            data.tables[site][kind] = Table(
                kind, titles[kind], [kind, "visits", "visitors"], rows, suppressed=left
            )


def _recommended(connection: sqlite3.Connection, data: ReportData) -> None:
    by_site: dict[str, list[list[Any]]] = defaultdict(list)
    for site, page, clicks, visitors in q.REPORT_RECOMMENDED(connection):
        by_site[site].append([page, clicks, visitors])
    for site in data.sites:
        totals = data.totals[site]
        rows, left = _top(data, by_site.get(site, []), 2)
        clicks = sum(row[1] for row in by_site.get(site, []))
        rate = f"{1000 * clicks / totals.views:.1f}" if totals.views else "-"
        data.tables[site]["recommended"] = Table(
            "recommended",
            "Recommendations clicked",
            ["recommended page", "clicks", "visitors"],
            rows,
            note=f"{clicks} clicks on recommendations: {rate} per 1,000 page views.",
            suppressed=left,
        )


def _segments(
    connection: sqlite3.Connection, data: ReportData, defined: dict[str, list[str]]
) -> None:
    members: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for site, visitor, joined in q.REPORT_SEGMENTS(connection):
        for segment in joined.split("."):
            if segment in defined:
                members[segment][site].add(visitor)
    rows = []
    for segment in sorted(defined):
        sizes = [len(members[segment].get(site, ())) for site in data.sites]
        rows.append(
            [segment, ", ".join(defined[segment])]
            + [size if size >= data.k else None for size in sizes]
        )
    data.segments = Table(
        "segments",
        "Audience segments: visitors in each, by site",
        ["segment", "defined on", *data.sites],
        rows,
        note=f"Empty cells rest on fewer than {data.k} visitors.",
    )
    everyone = {
        segment: set().union(*sites.values()) if sites else set()
        for segment, sites in members.items()
    }
    overlaps = []
    for first, second in combinations(sorted(everyone), 2):
        both = len(everyone[first] & everyone[second])
        if both >= data.k:
            overlaps.append([first, second, both])
    data.overlaps = Table(
        "overlaps",
        "Segment overlaps (visitors in both, network-wide)",
        ["segment", "segment", "visitors in both"],
        overlaps,
    )


def _crossings(connection: sqlite3.Connection, data: ReportData) -> None:
    rows = []
    left = 0
    for previous, site, moves, visitors in q.REPORT_CROSSINGS(connection):
        if visitors >= data.k:
            rows.append([previous, site, moves, visitors])
        else:
            left += 1
    rows.sort(key=lambda row: -row[2])
    data.crossings = Table(
        "crossings",
        "Paths between sites",
        ["from site", "to site", "moves", "visitors"],
        rows,
        suppressed=left,
    )
    shared_ids = int(q.REPORT_MULTI_SITE_VISITORS(connection).fetchone()[0])
    data.shared_visitors = shared_ids if shared_ids >= data.k else None
