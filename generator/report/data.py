"""What the network report shows, read from one snapshot of the events store.

The report aggregates what every ingest keeps beside the events (analytics/visits.py): the
visits that started in the range (counted in numpy, counts.py), each visitor's views per
page and day, and the goals and clicks in the range (into a temporary table). A **visit** is
a runtime session, or for a plain log's views (no session id) a run of views without a
30-minute gap, and counts on the day it started (with its views); a **bounce** is a visit
of one view; a visitor is a runtime visitor id (or, for a plain log, a salted hash of IP
and agent).

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

import numpy as np

import generator.report.counts as counts
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
    first = (start - EPOCH).days if start else -(2**62)
    last = (end - EPOCH).days + 1 if end else 2**62
    low, high = first * 86400.0, last * 86400.0
    with snapshot(store) as connection:
        connection.execute("PRAGMA temp_store = FILE")  # the goals and clicks of the range
        connection.execute("PRAGMA cache_size = -65536")  # 64 MiB of pages
        q.REPORT_SITES_CREATE(connection)
        q.REPORT_SITES_INSERT.many(connection, [(site,) for site in sites])
        if whole:
            q.REPORT_OTHER_SCAN(connection, low, high)
        else:
            q.REPORT_OTHER(connection, low, high)
        visits = counts.read(connection, first, last)
        if not len(visits):
            span = f"{start or 'the start'} to {end or 'the end'}"
            raise SitegenError(
                f"{store}: no page views of {', '.join(sites)} from {span}: nothing to report"
            )
        data = ReportData(
            sites=sites,
            start=start or _day(int(visits.day.min())),
            end=end or _day(int(visits.day.max())),
            k=k,
            totals={site: Totals() for site in sites},
            network=Totals(),
            days=defaultdict(dict),
            bots={},
            tables=defaultdict(dict),
        )
        _totals(connection, data, visits, first, last)
        for by_site in (False, True):
            for site, day, visitors, count, views in counts.days(visits, by_site):
                data.days[site][_day(day)] = _suppressed(data, visitors, count, views)
        for site, bots, lines in q.REPORT_BOTS(connection):
            data.bots[site] = (int(bots or 0), int(lines or 0))
        _pages(connection, data, visits, shared, first, last)
        _recommended(connection, data)
        _segments(data, visits, segments)
        _crossings(data, visits)
    return data


def _suppressed(
    data: ReportData, visitors: int, visits: int, views: int
) -> tuple[int | None, int | None, int | None]:
    if visitors < data.k:
        return (None, None, None)
    return (visitors, visits, views)


def _totals(
    connection: sqlite3.Connection, data: ReportData, visits: counts.Visits, first: int, last: int
) -> None:
    pairs = counts.per_visitor(visits)
    measures = {
        "views": pairs.views,
        "visits": pairs.visits,
        "bounces": pairs.bounces,
        "not_found": pairs.aligned(visits, q.REPORT_LOST(connection, NOT_FOUND_URL, first, last)),
        "goals": pairs.aligned(visits, q.REPORT_GOALS(connection)),
        "visitors": np.ones(len(pairs.key), dtype=np.int64),
    }
    measures["converted"] = (measures["goals"] > 0).astype(np.int64)
    size = len(visits.site.values)
    sums = {
        name: (
            np.bincount(pairs.site, weights=values, minlength=size),
            np.bincount(pairs.site, weights=values * values, minlength=size),
        )
        for name, values in measures.items()
    }
    network = data.network
    for code, site in enumerate(visits.site.values):
        totals = Totals(
            **{name: int(sums[name][0][code]) for name in TOTALS},
            sums={
                name: (float(sums[name][0][code]), float(sums[name][1][code]))
                for name in ("views", "visits", "not_found", "goals")
            },
        )
        data.totals[site] = totals
        for name in TOTALS:
            setattr(network, name, getattr(network, name) + getattr(totals, name))
    # A visitor id seen on two sites is one visitor of the network only when the sites share
    # ids; the network's visitors are the distinct ids of the range.
    network.visitors = counts.network_visitors(visits)


TOTALS = ("visitors", "visits", "views", "bounces", "not_found", "goals", "converted")


def _top(
    data: ReportData, rows: list[list[Any]], visitors_column: int, limit: int = 25
) -> tuple[list[list[Any]], int]:
    """Rows resting on at least k visitors, the largest first (by the first count column)."""
    kept = [row for row in rows if row[visitors_column] >= data.k]
    kept.sort(key=lambda row: (-row[1], str(row[0])))
    return kept[:limit], len(rows) - len(kept)


def _pages(
    connection: sqlite3.Connection,
    data: ReportData,
    visits: counts.Visits,
    shared: dict[str, dict[str, str]],
    first: int,
    last: int,
) -> None:
    by_site: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for site, *row in q.REPORT_PAGES(connection, first, last):
        by_site[site].append(tuple(row))
    for site, rows in by_site.items():
        pages, left = _top(data, [[page, views, visitors] for page, views, visitors, *_ in rows], 2)
        data.tables[site]["pages"] = Table(
            "pages", "Top pages", ["page", "views", "visitors"], pages, suppressed=left
        )
    counted: dict[str, dict[str, list[list[Any]]]] = defaultdict(lambda: defaultdict(list))
    for kind in ("entry", "exit", "referrer", "utm", "device"):
        for site, value, started, visitors in counts.by_value(visits, kind):
            counted[site][kind].append([value or "(none)", started, visitors])
    tables = {
        "entry": ("entries", "Entry pages", "visits started"),
        "exit": ("exits", "Exit pages", "visits ended"),
        "referrer": ("referrer", "Referrers", "visits"),
        "utm": ("utm", "Campaigns (utm_source)", "visits"),
        "device": ("device", "Devices", "visits"),
    }
    for site, kinds in counted.items():
        for kind, (name, title, measure) in tables.items():
            label = "page" if kind in ("entry", "exit") else kind
            kept, left = _top(data, kinds.get(kind, []), 2)
            data.tables[site][name] = Table(
                name, title, [label, measure, "visitors"], kept, suppressed=left
            )
    content = []
    left = 0
    for key, urls in sorted(shared.items()):
        for site, url in sorted(urls.items()):
            found = next((row for row in by_site.get(site, []) if row[0] == url), None)
            if found is None:
                continue
            _, views, visitors, onward, seconds = found
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
                    round(seconds / onward, 1) if onward else None,
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


def _segments(data: ReportData, visits: counts.Visits, defined: dict[str, list[str]]) -> None:
    members = counts.segment_members(visits, set(defined))
    rows = []
    for segment in sorted(defined):
        sizes = [len(members.get(segment, {}).get(site, ())) for site in data.sites]
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


def _crossings(data: ReportData, visits: counts.Visits) -> None:
    rows: list[list[Any]] = []
    left = 0
    for (previous, site), (moves, who) in counts.crossings(visits).items():
        if len(who) >= data.k:
            rows.append([previous, site, moves, len(who)])
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
    shared_ids = len(counts.multi_site(visits))
    data.shared_visitors = shared_ids if shared_ids >= data.k else None
