"""Related pages and next pages of one site, precomputed at build time.

- content: TF-IDF over each page's title (weighted up), tags and body, cosine similarity;
- co-visitation: pages viewed in the same sessions (item-item cosine with shrinkage, the
  `covisit` model of models.py), from the events store;
- hybrid: co-visitation where a page has enough traffic, filled up with content neighbours;
- next pages: sequential rules over sessions (the `sequential` model), for prefetching.

Every list is filled up to its length with the most viewed pages (ties: the earlier page),
so a page without neighbours or traffic still has a full list; without any traffic, there
are no next pages.

Only pages of the site itself are candidates, so a draft, a page its gates exclude or the
page itself can never be recommended.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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


def sessionise(views: Iterable[tuple[str, str, float, str]]) -> list[Session]:
    """(visitor, session id, time, page) views -> sessions: the runtime's session id where
    there is one, else a new session after `SESSION_GAP` seconds without a view."""
    views = list(views)
    if not views:
        return []
    # Vectorised: a million views take a second, not several.
    owners: dict[tuple[str, str], int] = {}
    owner = np.fromiter(
        (owners.setdefault((v[0], v[1]), len(owners)) for v in views),
        dtype=np.int64,
        count=len(views),
    )
    times = np.fromiter((v[2] for v in views), dtype=np.float64, count=len(views))
    pages = [v[3] for v in views]
    # Ties in time keep the input order (lexsort is stable), then by owner and time.
    order = np.lexsort((np.arange(len(views)), times, owner))
    owner, times = owner[order], times[order]
    no_session_id = np.fromiter((not key[1] for key in owners), dtype=bool, count=len(owners))
    starts = np.ones(len(views), dtype=bool)
    starts[1:] = (owner[1:] != owner[:-1]) | (
        no_session_id[owner[1:]] & (times[1:] - times[:-1] > SESSION_GAP)
    )
    bounds = [*np.flatnonzero(starts).tolist(), len(views)]
    ordered = [pages[i] for i in order.tolist()]
    firsts = times[bounds[:-1]].tolist()
    groups = [
        (first, tuple(ordered[begin:end]))
        for first, begin, end in zip(firsts, bounds, bounds[1:], strict=False)
    ]
    groups.sort()
    return [Session(f"s{number}", start, items) for number, (start, items) in enumerate(groups)]


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
    sessions: Sequence[Session],
    count: int = 5,
    content: Sequence[Sequence[int]] | None = None,
) -> Recommendations:
    """Related and next pages for every page (keys in, keys out). `content` is each page's
    `count` x 2 content neighbours when the caller has them (`content_neighbours`)."""
    keys = [page.key for page in pages]
    position = {key: index for index, key in enumerate(keys)}
    if content is None:
        content = content_neighbours(pages, count * 2) if pages else []
    index = ItemIndex(list(keys), position)
    training = Training.of(sessions, index)
    # Lists are filled up with the most viewed pages, ties by their place in `pages`
    # (never by anything that depends on the site's name).
    views = np.bincount(training.items, minlength=len(keys))
    by_views = np.lexsort((np.arange(len(keys)), -views)).tolist()
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
