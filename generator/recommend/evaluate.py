"""Offline evaluation of next-page models: HitRate@k, MRR@k and catalogue coverage, each
with a 95% bootstrap interval over sessions, and paired comparisons with a baseline.

The protocol, exactly: sessions are split by start time and the models learn from the
earlier ones only. In every test session, consecutive clicks on the same page are collapsed
into one (a reload is not a next page); then after each page the model ranks `k` pages for
the page that follows, and that next page is the target. The current page is never a
candidate, and a target equal to it cannot occur (collapsed). Pages seen earlier in the
session are candidates and may be targets, unless `exclude_seen`: then they are dropped from
every list and an event whose target is one of them is not evaluated. An event whose current
page is unknown to the training data, or whose target is, still counts as a miss.

This differs from session-rec's "next item" evaluation, which keeps repeated clicks as
targets and lets the current item be recommended.

Intervals: sessions are resampled with replacement (`BOOTSTRAP` times, a fixed seed) and
each measure computed on every resample; the interval is the 2.5th to 97.5th percentile,
corrected for the resamples' bias (see `_interval`). A paired comparison computes the
difference of two models on the same resamples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from generator.errors import SitegenError
from generator.recommend.models import MODELS, Content, ItemIndex, Model
from generator.recommend.sessions import Session, collapse_reloads

BOOTSTRAP = 1000
SEED = 20151
MEASURES = ("hit_rate", "mrr", "coverage")


@dataclass(frozen=True)
class Outcome:
    """One model's ranks on every evaluated event (what the measures and intervals are
    computed from)."""

    model: str
    items: int
    """The catalogue's size (coverage's denominator)."""
    session: np.ndarray
    """The test session of each event."""
    rank: np.ndarray
    """The target's 1-based place in the list, 0 for a miss."""
    shown: sparse.csr_matrix
    """Per test session, the items its lists showed (1)."""


@dataclass(frozen=True)
class Score:
    model: str
    events: int
    hit_rate: float
    mrr: float
    coverage: float
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Measure -> its 95% bootstrap interval."""
    versus: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    """Measure -> (difference from the baseline, interval low, high), when compared."""


def split_by_time(
    sessions: Sequence[Session], test_share: float = 0.2
) -> tuple[list[Session], list[Session]]:
    ordered = sorted(sessions, key=lambda s: (s.start, s.id))
    cut = int(len(ordered) * (1 - test_share))
    return ordered[:cut], ordered[cut:]


@dataclass(frozen=True)
class Protocol:
    """How test sessions are scored (see the module's docstring)."""

    k: int = 10
    """The list's length."""
    exclude_seen: bool = False
    """Pages seen earlier in the session are neither listed nor evaluated as targets."""
    related: bool = False
    """Sessions are sets: each page's list is scored against the session's other pages."""


def outcome(model: Model, test: Sequence[Session], protocol: Protocol = Protocol()) -> Outcome:
    """Rank the next page after every page of every test session (see the protocol); or
    (`related`, for sessions that are sets of pages without an order, such as msweb's
    visitors) rank pages for each page of the session alone, and score that list once for
    every other page of the session as the target."""
    index, k, exclude_seen = model.index, protocol.k, protocol.exclude_seen
    sessions, ranks, shown_rows, shown_items = [], [], [], []
    for number, session in enumerate(test):
        if protocol.related:
            pages = sorted(set(session.items))
            for current in pages:
                position = index.position.get(current)
                ranked = (
                    []
                    if position is None
                    else model.recommend([position], k, exclude=[position], now=session.start)
                )
                shown_rows += [number] * len(ranked)
                shown_items += ranked
                for target in pages:
                    if target != current:
                        sessions.append(number)
                        wanted = index.position.get(target)
                        ranks.append(ranked.index(wanted) + 1 if wanted in ranked else 0)
            continue
        items = collapse_reloads(session.items)
        history: list[int] = []
        for step, (current, target) in enumerate(zip(items, items[1:], strict=False)):
            if exclude_seen and target in items[:step]:
                continue  # a page seen earlier: not a candidate, so not a target either
            position = index.position.get(current)
            if position is not None:
                history.append(position)
            sessions.append(number)
            if not history or history[-1] != position:
                ranks.append(0)  # the current page is unknown: nothing to go on, a miss
                continue
            exclude = sorted(set(history)) if exclude_seen else [position]
            ranked = model.recommend(history, k, exclude=exclude, now=session.start)
            shown_rows += [number] * len(ranked)
            shown_items += ranked
            wanted = index.position.get(target)
            ranks.append(ranked.index(wanted) + 1 if wanted in ranked else 0)
    shown = sparse.csr_matrix(
        (np.ones(len(shown_rows)), (shown_rows, shown_items)),
        shape=(len(test), max(len(index.items), 1)),
    )
    shown.sum_duplicates()
    shown.data[:] = 1.0
    return Outcome(
        model.name, len(index.items), np.array(sessions, dtype=np.int64), np.array(ranks), shown
    )


def resamples(sessions: int, count: int = BOOTSTRAP) -> np.ndarray:
    """How often each session is drawn in each of `count` resamples (count x sessions)."""
    rng = np.random.default_rng(SEED)
    return rng.multinomial(sessions, np.full(sessions, 1.0 / max(sessions, 1)), size=count)


def measures(found: Outcome, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Each measure, for each row of session weights (one resample per row; a row of ones
    is the data as it is)."""
    sessions = weights.shape[1]
    events = np.bincount(found.session, minlength=sessions)
    hits = np.bincount(found.session, weights=found.rank > 0, minlength=sessions)
    reciprocal = np.where(found.rank > 0, 1.0 / np.maximum(found.rank, 1), 0.0)
    ranks = np.bincount(found.session, weights=reciprocal, minlength=sessions)
    total = np.maximum(weights @ events, 1)
    covered = np.asarray((sparse.csr_matrix(weights) @ found.shown).getnnz(axis=1)).ravel()
    return {
        "hit_rate": (weights @ hits) / total,
        "mrr": (weights @ ranks) / total,
        "coverage": covered / max(found.items, 1),
    }


def scores(
    outcomes: Sequence[Outcome], baseline: str | None = None, count: int = BOOTSTRAP
) -> list[Score]:
    """The measures of every model with their intervals, and with `baseline` (one of the
    models) each model's paired difference from it."""
    if not outcomes:
        return []
    sessions = outcomes[0].shown.shape[0]
    draws = resamples(sessions, count)
    whole = np.ones((1, sessions))
    sampled = {found.model: measures(found, draws) for found in outcomes}
    base = sampled.get(baseline) if baseline else None
    reference = measures(next(o for o in outcomes if o.model == baseline), whole) if base else {}
    result = []
    for found in outcomes:
        point = {name: float(values[0]) for name, values in measures(found, whole).items()}
        spread = sampled[found.model]
        intervals = {name: _interval(spread[name], point[name]) for name in MEASURES}
        versus = {}
        if base is not None:
            for name in MEASURES:
                difference = point[name] - float(reference[name][0])
                low, high = _interval(spread[name] - base[name], difference)
                versus[name] = (difference, low, high)
        result.append(
            Score(
                found.model,
                len(found.rank),
                point["hit_rate"],
                point["mrr"],
                point["coverage"],
                intervals,
                versus,
            )
        )
    return result


def _interval(values: np.ndarray, estimate: float) -> tuple[float, float]:
    """The 95% percentile interval of the resampled `values`, shifted by their bias (their
    mean's distance from the `estimate`). HR and MRR are means and barely move; coverage
    counts distinct pages, and a resample (which holds about 63% of the distinct sessions)
    always shows fewer: unshifted, its interval would not even contain the estimate."""
    low, high = np.percentile(values, [2.5, 97.5]) + (estimate - float(values.mean()))
    return float(low), float(high)


def evaluate(model: Model, test: Sequence[Session], k: int = 10) -> Score:
    """A model's measures (without intervals)."""
    found = outcome(model, test, Protocol(k))
    point = measures(found, np.ones((1, len(test))))
    return Score(
        model.name,
        len(found.rank),
        float(point["hit_rate"][0]),
        float(point["mrr"][0]),
        float(point["coverage"][0]),
    )


def evaluate_all(
    train: Sequence[Session],
    test: Sequence[Session],
    names: Sequence[str] = tuple(MODELS),
    protocol: Protocol = Protocol(),
    pages: dict[str, Any] | None = None,
    baseline: str | None = None,
    bootstrap: int = BOOTSTRAP,
) -> list[Score]:
    """Score every model; with the pages' texts (`pages`: item -> Page) also the content
    model, over the items those texts cover. Test data that shares no page with the
    training data is an error (every event would be a miss)."""
    index = ItemIndex.of(train)
    if not index.items:
        raise SitegenError("the training data holds no page views")
    tested = {item for session in test for item in session.items}
    if not tested & set(index.items):
        raise SitegenError(
            "no page of the test data occurs in the training data: every prediction would "
            "be a miss (are the files from the same site or catalogue?)"
        )
    found = [outcome(MODELS[name](index).fit(train), test, protocol) for name in names]
    if pages:
        content_index = ItemIndex.of([Session("all", 0.0, tuple(sorted(pages)))])
        model = Content(content_index, pages).fit(train)
        found.insert(2, outcome(model, test, protocol))
    return scores(found, baseline, bootstrap)


def format_table(found: Sequence[Score], k: int = 10, baseline: str | None = None) -> str:
    """The scores as a table a reviewer can check: events, each measure with its 95%
    interval; with a baseline, a second table of paired differences (`*`: the interval
    excludes zero)."""
    names = {"hit_rate": f"HR@{k}", "mrr": f"MRR@{k}", "coverage": "coverage"}
    lines = [
        f"{'model':<12}{'events':>8}"
        + "".join(f"  {names[m] + ' [95% CI]':<22}" for m in MEASURES).rstrip()
    ]
    for score in found:
        cells = []
        for measure in MEASURES:
            value = getattr(score, measure)
            low, high = score.intervals.get(measure, (value, value))
            cells.append(f"  {f'{value:.3f} [{low:.3f}, {high:.3f}]':<22}")
        lines.append(f"{score.model:<12}{score.events:>8}" + "".join(cells).rstrip())
    if baseline:
        lines += [
            "",
            f"paired with {baseline} (difference, 95% bootstrap interval over sessions; "
            "* excludes 0):",
        ]
        lines.append(f"{'model':<12}" + "".join(f"  {names[m]:<26}" for m in MEASURES).rstrip())
        for score in found:
            if score.model == baseline:
                continue
            cells = []
            for measure in MEASURES:
                difference, low, high = score.versus[measure]
                mark = "*" if low > 0 or high < 0 else " "
                cells.append(f"  {f'{difference:+.3f} [{low:+.3f}, {high:+.3f}]{mark}':<26}")
            lines.append(f"{score.model:<12}" + "".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def as_json(found: Sequence[Score], k: int, baseline: str | None) -> dict[str, Any]:
    return {
        "k": k,
        "bootstrap": BOOTSTRAP,
        "baseline": baseline,
        "models": [
            {
                "model": score.model,
                "events": score.events,
                **{
                    measure: {
                        "value": getattr(score, measure),
                        "interval": list(score.intervals.get(measure, ())),
                        **(
                            {
                                "difference": score.versus[measure][0],
                                "difference_interval": list(score.versus[measure][1:]),
                            }
                            if measure in score.versus
                            else {}
                        ),
                    }
                    for measure in MEASURES
                },
            }
            for score in found
        ],
    }


def site_split(store: Path, site: str, minimum: int = 10) -> tuple[list[Session], list[Session]]:
    """A site's sessions from its events store, split by time for evaluation; fewer than
    `minimum` sessions is an error that says what to run first."""
    from generator.recommend.related import sessionise
    from generator.recommend.site import page_views

    sessions = sessionise([view[:4] for view in page_views(store, site)])
    if len(sessions) < minimum:
        raise SitegenError(
            f"{store}: only {len(sessions)} sessions of '{site}'; expected "
            f"at least {minimum} (run sitegen analytics ingest first)"
        )
    return split_by_time(sessions)
