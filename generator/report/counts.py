"""The report's counts over visits, in numpy.

The visits of the report's range are read once from the store (about a million rows at
5,000,000 events) and every text column turned into integer codes; each table of the report
is then a `np.unique` or `np.bincount` over those codes. SQLite did the same with a sort per
GROUP BY (two to three seconds each at that size, eight of them); here the read is the cost.
"""

from __future__ import annotations

import gc
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from generator import events as q

Ints = NDArray[np.int64]
COLUMNS: tuple[str, ...] = ("site", "visitor", "start", "day", "views", "entry", "exit")
COLUMNS += ("referrer", "utm", "device", "segments")


@dataclass
class Coded:
    """A text column as codes into its distinct values."""

    codes: Ints
    values: list[str]


@dataclass
class Visits:
    site: Coded
    visitor: Coded
    start: NDArray[np.float64]
    day: Ints
    views: Ints
    text: dict[str, Coded]
    """entry, exit, referrer, utm, device, segments."""

    def __len__(self) -> int:
        return len(self.day)


class _Coder:
    """Codes for a text column read in chunks: the same value, the same code."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}
        self.chunks: list[Ints] = []

    def add(self, values: tuple[Any, ...]) -> None:
        index = self.index
        for value in dict.fromkeys(values):  # the chunk's distinct values, at C speed
            if value not in index:
                index[value] = len(index)
        self.chunks.append(np.fromiter(map(index.__getitem__, values), np.int64, len(values)))

    def coded(self) -> Coded:
        codes = np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.int64)
        return Coded(codes, list(self.index))


TEXT = ("site", "visitor", "entry", "exit", "referrer", "utm", "device", "segments")


def read(connection: sqlite3.Connection, first: int, last: int) -> Visits:
    """The visits that started on days `first` to `last` (exclusive) of the report's sites,
    coded a chunk at a time (only one chunk of rows is ever held as Python objects)."""
    coders = {name: _Coder() for name in TEXT}
    numbers: dict[str, list[NDArray[Any]]] = {"start": [], "day": [], "views": []}
    kinds = {"start": np.float64, "day": np.int64, "views": np.int64}
    cursor = q.REPORT_VISITS(connection, first, last)
    collecting = gc.isenabled()
    gc.disable()  # a million rows of tuples: the collector would walk them again and again
    try:
        while rows := cursor.fetchmany(100_000):
            for name, values in zip(COLUMNS, zip(*rows, strict=True), strict=True):
                if name in coders:
                    coders[name].add(values)
                else:
                    numbers[name].append(np.array(values, dtype=kinds[name]))
    finally:
        if collecting:
            gc.enable()
    joined = {
        name: np.concatenate(parts) if parts else np.zeros(0, dtype=kinds[name])
        for name, parts in numbers.items()
    }
    return Visits(
        site=coders["site"].coded(),
        visitor=coders["visitor"].coded(),
        start=joined["start"],
        day=joined["day"],
        views=joined["views"],
        text={name: coders[name].coded() for name in TEXT[2:]},
    )


def _groups(*keys: Ints) -> tuple[Ints, Ints]:
    """The distinct combinations of `keys` (as one int64 key per row, in order) and, per
    row, which of them it belongs to."""
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    for key in keys:
        combined = combined * (int(key.max(initial=0)) + 1) + key
    found, inverse = np.unique(combined, return_inverse=True)
    return found, inverse.reshape(-1)


def _split(found: Ints, *sizes: int) -> list[Ints]:
    """Undo `_groups`' combination for the keys of the given (max + 1) sizes."""
    parts = []
    for size in reversed(sizes[1:]):
        parts.append(found % size)
        found = found // size
    parts.append(found)
    return list(reversed(parts))


@dataclass
class PerVisitor:
    """One entry per (site, visitor) pair of the visits."""

    key: Ints
    """site code * visitor codes + visitor code, sorted."""
    site: Ints
    views: Ints
    visits: Ints
    bounces: Ints
    visitors: int
    """How many visitor codes there are (the key's multiplier)."""

    def aligned(self, visits: Visits, rows: Iterable[tuple[str, str, int]]) -> Ints:
        """Counts given as (site, visitor, count) rows, as an array over the pairs (0 for a
        pair without a row; a row of a pair without visits in the range is left out)."""
        sites = {name: code for code, name in enumerate(visits.site.values)}
        visitors = {name: code for code, name in enumerate(visits.visitor.values)}
        keys, counts = [], []
        for site, visitor, count in rows:
            if site in sites and visitor in visitors:
                keys.append(sites[site] * self.visitors + visitors[visitor])
                counts.append(count)
        found = np.zeros(len(self.key), dtype=np.int64)
        where = np.searchsorted(self.key, np.array(keys, dtype=np.int64))
        known = where < len(self.key)
        known[known] = self.key[where[known]] == np.array(keys, dtype=np.int64)[known]
        found[where[known]] = np.array(counts, dtype=np.int64)[known]
        return found


def per_visitor(visits: Visits) -> PerVisitor:
    """Views, visits and bounces per (site, visitor) pair."""
    found, inverse = _groups(visits.site.codes, visits.visitor.codes)
    pairs = len(found)
    views = np.bincount(inverse, weights=visits.views, minlength=pairs).astype(np.int64)
    count = np.bincount(inverse, minlength=pairs)
    bounces = np.bincount(inverse, weights=visits.views == 1, minlength=pairs).astype(np.int64)
    size = _size(visits.visitor.codes)
    return PerVisitor(found, found // size, views, count, bounces, size)


def _size(codes: Ints) -> int:
    return int(codes.max(initial=0)) + 1


def days(visits: Visits, by_site: bool) -> Iterator[tuple[str, int, int, int, int]]:
    """(site or '', day, visitors, visits, views) per day, by site or for the network."""
    site = visits.site.codes if by_site else np.zeros(len(visits), dtype=np.int64)
    low = int(visits.day.min(initial=0))
    day = visits.day - low
    found, inverse = _groups(site, day)
    count = np.bincount(inverse, minlength=len(found))
    views = np.bincount(inverse, weights=visits.views, minlength=len(found)).astype(np.int64)
    distinct, _ = _groups(site, day, visits.visitor.codes)
    groups = distinct // _size(visits.visitor.codes)
    visitors = np.bincount(np.searchsorted(found, groups), minlength=len(found))
    sites, numbers = _split(found, _size(site), _size(day))
    for number in range(len(found)):
        name = visits.site.values[sites[number]] if by_site else ""
        yield (
            name,
            int(numbers[number]) + low,
            int(visitors[number]),
            int(count[number]),
            int(views[number]),
        )


def by_value(visits: Visits, column: str) -> Iterator[tuple[str, str, int, int]]:
    """(site, value, visits, distinct visitors) of a text column of the visits."""
    coded = visits.text[column]
    found, inverse = _groups(visits.site.codes, coded.codes)
    count = np.bincount(inverse, minlength=len(found))
    distinct, _ = _groups(visits.site.codes, coded.codes, visits.visitor.codes)
    visitors = np.bincount(
        np.searchsorted(found, distinct // _size(visits.visitor.codes)), minlength=len(found)
    )
    sites, values = _split(found, _size(visits.site.codes), _size(coded.codes))
    for number in range(len(found)):
        yield (
            visits.site.values[sites[number]],
            coded.values[values[number]],
            int(count[number]),
            int(visitors[number]),
        )


def network_visitors(visits: Visits) -> int:
    return len(np.unique(visits.visitor.codes))


def multi_site(visits: Visits) -> Ints:
    """The visitor codes seen on more than one site."""
    found, _ = _groups(visits.visitor.codes, visits.site.codes)
    visitors = found // _size(visits.site.codes)
    counts = np.bincount(visitors)
    return np.flatnonzero(counts > 1)


def crossings(visits: Visits) -> dict[tuple[str, str], tuple[int, set[int]]]:
    """(from site, to site) -> (moves, visitors) over consecutive visits of one visitor id on
    two sites."""
    chosen = np.isin(visits.visitor.codes, multi_site(visits))
    visitor = visits.visitor.codes[chosen]
    site = visits.site.codes[chosen]
    order = np.lexsort((visits.start[chosen], visitor))
    visitor, site = visitor[order], site[order]
    moves = np.flatnonzero((visitor[1:] == visitor[:-1]) & (site[1:] != site[:-1]))
    found: dict[tuple[str, str], tuple[int, set[int]]] = {}
    for at in moves:
        key = (visits.site.values[site[at]], visits.site.values[site[at + 1]])
        count, who = found.get(key, (0, set()))
        who.add(int(visitor[at]))
        found[key] = (count + 1, who)
    return found


def segment_members(visits: Visits, defined: set[str]) -> dict[str, dict[str, set[int]]]:
    """Segment -> site -> the visitor codes whose visits carried it."""
    coded = visits.text["segments"]
    carried = [
        {s for s in value.replace(",", ".").split(".") if s in defined} for value in coded.values
    ]
    found, _ = _groups(visits.site.codes, coded.codes, visits.visitor.codes)
    visitor_size, segment_size = _size(visits.visitor.codes), _size(coded.codes)
    sites, segments, visitors = _split(found, _size(visits.site.codes), segment_size, visitor_size)
    members: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for site, segment, visitor in zip(
        sites.tolist(), segments.tolist(), visitors.tolist(), strict=True
    ):
        for name in carried[segment]:
            members[name][visits.site.values[site]].add(visitor)
    return members
