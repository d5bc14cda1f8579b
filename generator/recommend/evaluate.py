"""Offline evaluation of next-page models: HitRate@k, MRR@k and catalogue coverage.

Protocol (as session-rec's "next item" evaluation): sessions are split by start time, models
are trained on the earlier ones; for every test session, after each page, the model ranks
candidates for the page that follows. Reloads are collapsed first and the current page is
never a candidate. Test pages unknown to the training data still count as misses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.recommend.models import MODELS, Content, ItemIndex, Model
from generator.recommend.sessions import Session, collapse_reloads


@dataclass(frozen=True, slots=True)
class Score:
    model: str
    hit_rate: float
    mrr: float
    coverage: float
    predictions: int


def split_by_time(
    sessions: Sequence[Session], test_share: float = 0.2
) -> tuple[list[Session], list[Session]]:
    ordered = sorted(sessions, key=lambda s: (s.start, s.id))
    cut = int(len(ordered) * (1 - test_share))
    return ordered[:cut], ordered[cut:]


def evaluate(model: Model, test: Sequence[Session], k: int = 10) -> Score:
    index = model.index
    hits = 0
    reciprocal = 0.0
    predictions = 0
    recommended: set[int] = set()
    for session in test:
        items = collapse_reloads(session.items)
        history: list[int] = []
        for current, target in zip(items, items[1:], strict=False):
            position = index.position.get(current)
            if position is not None:
                history.append(position)
            predictions += 1
            if not history or history[-1] != position:
                continue  # the current page is unknown: nothing to go on, a miss
            ranked = model.recommend(history, k, exclude=(position,))
            recommended.update(ranked)
            wanted = index.position.get(target)
            if wanted is not None and wanted in ranked:
                hits += 1
                reciprocal += 1.0 / (ranked.index(wanted) + 1)
    total = max(predictions, 1)
    return Score(
        model.name,
        hits / total,
        reciprocal / total,
        len(recommended) / max(len(index.items), 1),
        predictions,
    )


def evaluate_all(
    train: Sequence[Session],
    test: Sequence[Session],
    names: Sequence[str] = tuple(MODELS),
    k: int = 10,
    pages: dict[str, Any] | None = None,
) -> list[Score]:
    """Score every model; with the pages' texts (`pages`: item -> Page) also the content
    model, over the items those texts cover."""
    index = ItemIndex.of(train)
    scores = [evaluate(MODELS[name](index).fit(train), test, k) for name in names]
    if pages:
        content_index = ItemIndex.of([Session("all", 0.0, tuple(sorted(pages)))])
        scores.insert(2, evaluate(Content(content_index, pages).fit(train), test, k))
    return scores


def format_table(scores: Sequence[Score], k: int = 10) -> str:
    lines = [f"{'model':<12}{'HR@' + str(k):>9}{'MRR@' + str(k):>9}{'coverage':>10}"]
    lines += [f"{s.model:<12}{s.hit_rate:>9.3f}{s.mrr:>9.3f}{s.coverage:>10.3f}" for s in scores]
    return "\n".join(lines) + "\n"


def site_split(store: Path, site: str, minimum: int = 10) -> tuple[list[Session], list[Session]]:
    """A site's sessions from its events store, split by time for evaluation; fewer than
    `minimum` sessions is an error that says what to run first."""
    from generator.errors import SitegenError
    from generator.recommend.related import sessionise
    from generator.recommend.site import page_views

    sessions = sessionise([view[:4] for view in page_views(store, site)])
    if len(sessions) < minimum:
        raise SitegenError(
            f"{store}: only {len(sessions)} sessions of '{site}'; expected "
            f"at least {minimum} (run sitegen analytics ingest first)"
        )
    return split_by_time(sessions)
