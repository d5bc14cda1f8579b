"""Related pages and next pages of one site, precomputed at build time.

- content: TF-IDF over each page's title (weighted up), tags and body, cosine similarity;
- co-visitation: pages viewed in the same sessions (item-item cosine with shrinkage, the
  `covisit` model of models.py), from the events store;
- hybrid: co-visitation where a page has enough traffic, filled up with content neighbours;
- next pages: sequential rules over sessions (the `sequential` model), for prefetching.

Every list is filled up to its length with the most viewed pages (ties: the earlier page),
so a page without neighbours or traffic of its own still has a full list once the site has
traffic; without any, lists hold content neighbours only and there are no next pages.

Only pages of the site itself are candidates, so a draft, a page its gates exclude or the
page itself can never be recommended.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any

import numpy as np
from scipy import sparse

from generator.content.page import Page
from generator.recommend.lists import Recommendations
from generator.recommend.models import (
    CoVisitation,
    ItemIndex,
    SequentialRules,
    Training,
    Transitions,
)
from generator.recommend.neighbours import update
from generator.recommend.sessions import Session

SESSION_GAP = 30 * 60
"""Seconds of inactivity that end a session (for events without a runtime session id)."""
MIN_SESSIONS = 3
"""A page needs this many sessions before its co-visitation neighbours are trusted."""


def content_neighbours(pages: Sequence[Page], count: int) -> list[list[int]]:
    """For each page, the `count` most similar other pages by cosine similarity of TF-IDF
    vectors, best first (ties: the earlier page). A build keeps the model between builds
    (`neighbours.update`); this computes it from scratch."""
    return update(pages, count).neighbours(count)


def sessionise(views: Iterable[tuple[Any, ...]]) -> list[Session]:
    """(visitor, session id, time, page, ...) views -> sessions: the runtime's session id where
    there is one, else a new session after `SESSION_GAP` seconds without a view."""
    views = list(views)
    if not views:
        return []
    order, first, times = _sessions(views)
    pages = [views[i][3] for i in order.tolist()]
    bounds = [*np.flatnonzero(first).tolist(), len(views)]
    groups = [
        (start, tuple(pages[begin:end]))
        for start, begin, end in zip(times[first].tolist(), bounds, bounds[1:], strict=False)
    ]
    groups.sort()
    return [Session(f"s{number}", start, items) for number, (start, items) in enumerate(groups)]


def training_of_views(views: Sequence[tuple[Any, ...]], position: dict[str, int]) -> Training:
    """What `Training.of(sessionise(...), index)` gives for (visitor, session id, time,
    page, ...) views whose pages `position` numbers (others dropped), without making the
    sessions: a build's million views in a fraction of the time. Sessions are numbered by
    visitor and time, not by start."""
    if not views:
        empty = np.zeros(0, dtype=np.int64)
        return Training(empty, empty, empty, np.zeros(0))
    order, first, times = _sessions(views)
    pages = np.fromiter(
        map(position.get, map(itemgetter(3), views), repeat(-1)), dtype=np.int64, count=len(views)
    )[order]
    session = np.cumsum(first) - 1
    starts = times[first]
    known = pages >= 0
    items, session = pages[known], session[known]
    keep = np.ones(len(items), dtype=bool)  # reloads collapsed
    keep[1:] = (items[1:] != items[:-1]) | (session[1:] != session[:-1])
    items, session = items[keep], session[keep]
    places = np.arange(len(items)) - np.searchsorted(session, session) + 1
    return Training(items, session, places, starts)


def _sessions(views: Sequence[tuple[Any, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The views' order by visitor-and-session then time (ties: input order), whether each
    (in that order) starts a session, and their times in that order."""
    # Vectorised: a million views take a second, not several.
    owners: dict[tuple[str, str], int] = {}
    owner = np.fromiter(
        (owners.setdefault((v[0], v[1]), len(owners)) for v in views),
        dtype=np.int64,
        count=len(views),
    )
    times = np.fromiter(map(itemgetter(2), views), dtype=np.float64, count=len(views))
    order = np.lexsort((np.arange(len(views)), times, owner))
    owner, times = owner[order], times[order]
    no_session_id = np.fromiter((not key[1] for key in owners), dtype=bool, count=len(owners))
    first = np.ones(len(views), dtype=bool)
    first[1:] = (owner[1:] != owner[:-1]) | (
        no_session_id[owner[1:]] & (times[1:] - times[:-1] > SESSION_GAP)
    )
    return order, first, times


def _row_top(matrix: sparse.csr_matrix, row: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns and values of the `count` highest positive values of one row of a sparse
    matrix, best first (ties: lower column), other than the row itself."""
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    columns, values = matrix.indices[start:end], matrix.data[start:end]
    keep = (columns != row) & (values > 0)
    columns, values = columns[keep], values[keep]
    order = np.lexsort((columns, -values))[:count]
    return columns[order], values[order]


def recommend(
    pages: Sequence[Page],
    sessions: Sequence[Session] | Training,
    count: int = 5,
    content: Sequence[Sequence[int]] | None = None,
) -> Recommendations:
    """Related and next pages for every page (keys in, keys out), from sessions of page
    keys (or their `Training` over `pages`, numbered in their order). `content` is each
    page's `count` x 2 content neighbours when the caller has them (`content_neighbours`)."""
    keys = [page.key for page in pages]
    position = {key: index for index, key in enumerate(keys)}
    if content is None:
        content = content_neighbours(pages, count * 2) if pages else []
    index = ItemIndex(list(keys), position)
    training = sessions if isinstance(sessions, Training) else Training.of(sessions, index)
    # Lists are filled up with the most viewed pages, ties by their place in `pages`
    # (never by anything that depends on the site's name).
    views = np.bincount(training.items, minlength=len(keys))
    # Only pages someone viewed: without traffic, a filler would be arbitrary.
    by_views = [row for row in np.lexsort((np.arange(len(keys)), -views)).tolist() if views[row]]
    if not len(training.items):
        # No traffic yet: related pages are content neighbours, and nothing comes next.
        return Recommendations(
            {
                key: tuple(
                    keys[i] for i in _filled(list(content[row][:count]), row, by_views, count)
                )
                for row, key in enumerate(keys)
            },
            {key: () for key in keys},
        )
    covisit, rules, transitions = CoVisitation(index), SequentialRules(index), Transitions(index)
    for model in (covisit, rules, transitions):
        model.learn(training)
    # covisit.scores([row]) is row `row` of the similarity matrix's transpose; symmetric.
    covisit_rows = covisit.similarity.tocsr()
    rules_rows = rules.matrix.tocsr()
    pairs = np.sort(training.session * len(keys) + training.items)
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]  # each page once per session
    sessions_per_page = np.bincount(pairs % len(keys), minlength=len(keys))
    related: dict[str, tuple[str, ...]] = {}
    next_pages: dict[str, tuple[str, ...]] = {}
    for row, key in enumerate(keys):
        chosen: list[int] = []
        if sessions_per_page[row] >= MIN_SESSIONS:
            chosen = _row_top(covisit_rows, row, count)[0].tolist()
        for candidate in content[row]:
            if len(chosen) >= count:
                break
            if candidate not in chosen and candidate != row:
                chosen.append(candidate)
        related[key] = tuple(keys[i] for i in _filled(chosen, row, by_views, count))
        following = _row_top(rules_rows, row, count)[0].tolist()
        next_pages[key] = tuple(keys[i] for i in _filled(following, row, by_views, count))
    return Recommendations(
        related, next_pages, next_chances=next_chances(index, transitions.matrix, count)
    )


def _filled(chosen: list[int], row: int, by_views: list[int], count: int) -> list[int]:
    """`chosen`, then the most viewed pages not in it, up to `count`; never `row` itself."""
    for candidate in by_views[: count + len(chosen) + 1]:
        if len(chosen) >= count:
            break
        if candidate != row and candidate not in chosen:
            chosen.append(candidate)
    return chosen


def next_chances(
    index: ItemIndex, transitions: sparse.csr_matrix, count: int
) -> dict[str, tuple[tuple[str, float], ...]]:
    """For each page, the likeliest next pages with the share of its onward moves that went
    there (first-order `transitions`, whose moves to the same page are not moves)."""
    transitions = transitions.tocsr(copy=True)
    transitions.setdiag(0)
    transitions.eliminate_zeros()
    totals = np.asarray(transitions.sum(axis=1)).ravel()
    keys = index.items
    found: dict[str, tuple[tuple[str, float], ...]] = {}
    for row in np.flatnonzero(totals > 0).tolist():
        columns, values = _row_top(transitions, row, count)
        shares = np.round(values / totals[row], 4)
        found[keys[row]] = tuple(
            (keys[column], float(share))
            for column, share in zip(columns.tolist(), shares.tolist(), strict=True)
        )
    return found
