"""Next-page models trained on sessions.

Each model maps the pages of a session so far to scored candidates for the next page. All
share one item index, learn from one `Training` (the sessions as numpy arrays) and use
numpy / scipy.sparse so that 10,000 pages and a million events fit in seconds:

- `popularity`: most viewed pages (the baseline);
- `covisit`: item-item cosine over sessions, with shrinkage so that two rare pages seen
  together once do not look like a perfect match;
- `transitions`: first-order transitions, page -> the page viewed right after it;
- `sequential`: sequential rules (Ludewig & Jannach): every later page of a session within a
  few steps counts, weighted by 1/distance;
- `vsknn`, `stan`: session-based nearest neighbours (see `SessionKNN`);
- `hybrid`: STAN, sequential rules, co-visitation and the session's own earlier pages,
  blended with weights learned on the latest training sessions (see `Hybrid`).

Every model returns full lists (`Model.rank`): its positively scored items, then the most
popular others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, product, repeat
from typing import Any, Self

import numpy as np
from scipy import sparse

from generator.recommend.sessions import Session


@dataclass
class ItemIndex:
    items: list[str]
    position: dict[str, int]

    @classmethod
    def of(cls, sessions: Sequence[Session]) -> ItemIndex:
        items = sorted({item for session in sessions for item in session.items})
        return cls(items, {item: index for index, item in enumerate(items)})


@dataclass(frozen=True)
class Training:
    """Sessions as the models learn from them: item positions with reloads collapsed and
    unknown items dropped, flattened (`items`, and `session` the number of each one's
    session, `order` its 1-based place in it), and each session's start time."""

    items: np.ndarray
    session: np.ndarray
    order: np.ndarray
    starts: np.ndarray

    @classmethod
    def of(cls, sessions: Sequence[Session], index: ItemIndex) -> Training:
        lengths = np.fromiter((len(s.items) for s in sessions), dtype=np.int64, count=len(sessions))
        total = int(lengths.sum())
        position = index.position
        every = chain.from_iterable(s.items for s in sessions)
        items = np.fromiter(map(position.get, every, repeat(-1)), dtype=np.int64, count=total)
        session = np.repeat(np.arange(len(sessions)), lengths)
        # Unknown items dropped, then reloads (the same item again in the same session).
        known = items >= 0
        items, session = items[known], session[known]
        keep = np.ones(len(items), dtype=bool)
        keep[1:] = (items[1:] != items[:-1]) | (session[1:] != session[:-1])
        items, session = items[keep], session[keep]
        first = np.searchsorted(session, session)  # each session's first entry
        order = np.arange(len(items)) - first + 1
        starts = np.fromiter((s.start for s in sessions), dtype=np.float64, count=len(sessions))
        return cls(items, session, order, starts)

    def split(self, share: float) -> tuple[Training, list[list[int]], np.ndarray]:
        """The earlier sessions (by start) as training, and the last `share` of them as
        validation: their item lists and start times."""
        ranked = np.argsort(self.starts, kind="stable")
        cut = int(len(ranked) * (1 - share))
        early = np.zeros(len(self.starts), dtype=bool)
        early[ranked[:cut]] = True
        keep = early[self.session]
        renumber = np.cumsum(early) - 1
        training = Training(
            self.items[keep], renumber[self.session[keep]], self.order[keep], self.starts[early]
        )
        late = ranked[cut:]
        bounds = np.searchsorted(self.session, np.arange(len(self.starts) + 1))
        lists = [self.items[bounds[s] : bounds[s + 1]].tolist() for s in late]
        return training, lists, self.starts[late]


class Model:
    name = "model"

    def __init__(self, index: ItemIndex) -> None:
        self.index = index
        self.popular = np.zeros(len(index.items))
        """Views per item in the training sessions: ties in scores, and lists filled up."""
        self.by_popularity = np.arange(len(index.items))

    def fit(self, sessions: Sequence[Session]) -> Self:
        self.learn(Training.of(sessions, self.index))
        return self

    def learn(self, training: Training) -> None:
        """Learn from the sessions; every model counts its items' popularity first."""
        counts = np.bincount(training.items, minlength=len(self.index.items)).astype(float)
        self.popular = counts
        # Most viewed first; ties by position in the index (items sorted by their own key,
        # which no site name enters).
        self.by_popularity = np.lexsort((np.arange(len(counts)), -counts))

    def scores(self, history: Sequence[int], now: float | None = None) -> np.ndarray:
        """A score per item for the page after `history` (item positions, last = current),
        for a session under way at `now` (None: just after the training sessions)."""
        raise NotImplementedError

    def recommend(
        self,
        history: Sequence[int],
        count: int = 10,
        exclude: Sequence[int] = (),
        now: float | None = None,
    ) -> list[int]:
        """The `count` best items (fewer only when the catalogue has fewer): positively
        scored ones first, ties broken by popularity then by index position; then the most
        popular of the rest. Never an item of `exclude`."""
        return self.rank(self.scores(history, now), count, exclude)

    def rank(self, scores: np.ndarray, count: int, exclude: Sequence[int] = ()) -> list[int]:
        candidates = np.flatnonzero(scores > 0)
        if len(exclude):
            candidates = candidates[~np.isin(candidates, exclude)]
        if len(candidates) > count:
            # Only the candidates that can still make the list are sorted.
            threshold = -np.partition(-scores[candidates], count - 1)[count - 1]
            candidates = candidates[scores[candidates] >= threshold]
        order = np.lexsort((candidates, -self.popular[candidates], -scores[candidates]))
        chosen = [int(i) for i in candidates[order[:count]]]
        if len(chosen) < count:
            taken = set(chosen) | {int(i) for i in exclude}
            for item in self.by_popularity[: count + len(taken)].tolist():
                if len(chosen) >= count:
                    break
                if item not in taken:
                    chosen.append(item)
        return chosen


class Popularity(Model):
    name = "popularity"

    def scores(self, history: Sequence[int], now: float | None = None) -> np.ndarray:
        return self.popular / max(float(self.popular.max(initial=0.0)), 1.0)


class CoVisitation(Model):
    name = "covisit"

    def __init__(self, index: ItemIndex, shrinkage: float = 5.0) -> None:
        super().__init__(index)
        self.shrinkage = shrinkage

    def learn(self, training: Training) -> None:
        super().learn(training)
        size = len(self.index.items)
        incidence = sparse.csr_matrix(
            (np.ones(len(training.items)), (training.session, training.items)),
            shape=(max(len(training.starts), 1), size),
        )
        incidence.sum_duplicates()
        incidence.data[:] = 1.0  # a session counts once however often it came back
        together = (incidence.T @ incidence).tocsr().astype(float)
        counts = np.asarray(together.diagonal()).ravel()
        together.setdiag(0)
        together.eliminate_zeros()
        coo = together.tocoo()
        norms = np.sqrt(counts[coo.row] * counts[coo.col])
        values = coo.data / np.maximum(norms, 1e-12) * (coo.data / (coo.data + self.shrinkage))
        self.similarity = sparse.csr_matrix((values, (coo.row, coo.col)), shape=(size, size))

    def scores(self, history: Sequence[int], now: float | None = None) -> np.ndarray:
        found = np.zeros(len(self.index.items))
        # Recent pages count more: the current page fully, earlier ones less and less.
        for age, position in enumerate(reversed(history[-5:])):
            _add_row(found, self.similarity, position, 1.0 / (age + 1))
        return found


def _add_row(into: np.ndarray, matrix: sparse.csr_matrix, row: int, weight: float) -> None:
    """`into += weight * matrix[row]`, without making a sparse row."""
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    into[matrix.indices[start:end]] += weight * matrix.data[start:end]


class SequentialRules(Model):
    name = "sequential"

    def __init__(self, index: ItemIndex, steps: int = 10) -> None:
        super().__init__(index)
        self.steps = steps

    def learn(self, training: Training) -> None:
        super().learn(training)
        size = len(self.index.items)
        rows, columns, values = [], [], []
        for distance in range(1, self.steps + 1):
            # Every page and the page `distance` steps later in the same session.
            same = training.session[:-distance] == training.session[distance:]
            rows.append(training.items[:-distance][same])
            columns.append(training.items[distance:][same])
            values.append(np.full(int(same.sum()), 1.0 / distance))
        self.matrix = sparse.csr_matrix(
            (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
            shape=(size, size),
        )
        self.matrix.sum_duplicates()

    def scores(self, history: Sequence[int], now: float | None = None) -> np.ndarray:
        found = np.zeros(len(self.index.items))
        if history:
            _add_row(found, self.matrix, history[-1], 1.0)
        return found


class Transitions(SequentialRules):
    """First-order transitions (a first-order Markov chain): sequential rules that look one
    step ahead only."""

    name = "transitions"

    def __init__(self, index: ItemIndex) -> None:
        super().__init__(index, steps=1)


class SessionKNN(Model):
    """Session-based nearest neighbours: the training sessions most like the one under way
    vote for their pages.

    - `vsknn` (V-SKNN, Ludewig & Jannach 2018): the session's pages weighted by recency
      (linear: the current page 1, the first 1/length), a dot product with each candidate
      session, among the `sample` most recent sessions that share a page with it; the
      `neighbours` best vote for their pages with their similarity.
    - `stan` (STAN, Garg et al. 2019): the same, with exponential recency weights in the
      session (`recency`, in steps), cosine similarity, older neighbours weighted down
      (`age`, in seconds, against the session's start) and, inside each neighbour, pages
      weighted by their distance from the page it shares with the session most recently
      (`distance`, in steps).
    """

    def __init__(
        self,
        index: ItemIndex,
        neighbours: int = 100,
        sample: int = 1000,
        recency: float | None = None,
        age: float | None = None,
        distance: float | None = None,
        cosine: bool = False,
    ) -> None:
        super().__init__(index)
        self.neighbours = neighbours
        self.sample = sample
        self.recency = recency
        self.age = age
        self.distance = distance
        self.cosine = cosine

    def learn(self, training: Training) -> None:
        super().learn(training)
        size, count = len(self.index.items), len(training.starts)
        # One entry per (session, item): the item's last place in the session.
        order = np.lexsort((training.order, training.items, training.session))
        session, items = training.session[order], training.items[order]
        last = np.ones(len(order), dtype=bool)
        last[:-1] = (session[1:] != session[:-1]) | (items[1:] != items[:-1])
        self.places = sparse.csr_matrix(
            (training.order[order][last].astype(np.float64), (session[last], items[last])),
            shape=(max(count, 1), size),
        )
        self.lengths = np.diff(self.places.indptr).astype(np.float64)
        self.sessions_of = self.places.T.tocsr()  # item -> the sessions holding it
        self.starts = training.starts
        self.latest = float(training.starts.max(initial=0.0))

    def scores(self, history: Sequence[int], now: float | None = None) -> np.ndarray:
        found = np.zeros(len(self.index.items))
        if not history:
            return found
        length = len(history)
        weight = {item: place for place, item in enumerate(history, start=1)}  # last place
        items = np.fromiter(weight, dtype=np.int64, count=len(weight))
        places = np.fromiter(weight.values(), dtype=np.float64, count=len(weight))
        if self.recency is None:
            weights = places / length
        else:
            weights = np.exp((places - length) / self.recency)
        sessions, votes = _gather(self.sessions_of, items, weights)
        if not len(sessions):
            return found
        candidates, inverse = np.unique(sessions, return_inverse=True)
        similarity = np.bincount(inverse, weights=votes)
        if len(candidates) > self.sample:  # the most recent sessions only
            recent = np.argpartition(-self.starts[candidates], self.sample - 1)[: self.sample]
            candidates, similarity = candidates[recent], similarity[recent]
        if self.cosine:
            similarity = similarity / np.sqrt(len(items) * self.lengths[candidates])
        if self.age is not None:
            moment = self.latest if now is None else now
            elapsed = np.maximum(moment - self.starts[candidates], 0.0)
            similarity = similarity * np.exp(-elapsed / self.age)
        if len(candidates) > self.neighbours:
            best = np.argpartition(-similarity, self.neighbours - 1)[: self.neighbours]
            candidates, similarity = candidates[best], similarity[best]
        rows, columns, place = _rows(self.places, candidates)
        vote = similarity[rows]
        if self.distance is not None:
            # Where each neighbour meets the session: its page seen last in the session.
            seen = np.zeros(len(self.index.items), dtype=np.int64)
            seen[items] = places.astype(np.int64)
            span = int(place.max()) + 1
            key = seen[columns] * span + place.astype(np.int64)
            meets = np.maximum.reduceat(key, np.searchsorted(rows, np.arange(len(candidates))))
            vote = vote * np.exp(-np.abs(place - meets[rows] % span) / self.distance)
        np.add.at(found, columns, vote)
        return found


def _gather(
    matrix: sparse.csr_matrix, rows: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The columns of `rows` of a CSR matrix, each with its row's weight."""
    numbers, columns, _ = _rows(matrix, rows)
    return columns, weights[numbers]


def _rows(matrix: sparse.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries of `rows` of a CSR matrix: row number (into `rows`), column, value."""
    starts, ends = matrix.indptr[rows], matrix.indptr[rows + 1]
    lengths = ends - starts
    spots = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    return np.repeat(np.arange(len(rows)), lengths), matrix.indices[spots], matrix.data[spots]


class VSKNN(SessionKNN):
    name = "vsknn"


class STAN(SessionKNN):
    name = "stan"

    def __init__(self, index: ItemIndex) -> None:
        super().__init__(
            index,
            neighbours=100,
            sample=1000,
            recency=2.0,
            age=7 * 86400.0,
            distance=2.0,
            cosine=True,
        )


class Revisits(Model):
    """The pages of the session so far, the latest first (people go back: on the
    yoochoose test day 11% of next pages were an earlier page of the same session)."""

    name = "revisits"

    def __init__(self, index: ItemIndex, recency: float = 1.0) -> None:
        super().__init__(index)
        self.recency = recency

    def scores(self, history: Sequence[int], now: float | None = None) -> np.ndarray:
        found = np.zeros(len(self.index.items))
        for age, item in enumerate(reversed(history[:-1]), start=1):
            found[item] = max(found[item], np.exp(-(age - 1) / self.recency))
        return found


VALIDATION_SHARE = 0.2
"""The latest training sessions the hybrid learns its blend on."""
BLEND_WEIGHTS = (0.0, 0.125, 0.25, 0.5, 1.0)
SHORTLIST = 50
"""Candidates per component considered when learning the blend."""


class Hybrid(Model):
    """Session neighbours (STAN), sequential rules and co-visitation, each scaled to a best
    score of 1 and blended with weights learned on the latest training sessions: the
    components are fitted on the earlier 80%, the weights that give the best MRR@10 on the
    next pages of the last 20% are kept, and the components are fitted again on all of it.
    The test data never takes part."""

    name = "hybrid"

    def __init__(self, index: ItemIndex) -> None:
        super().__init__(index)
        self.parts: list[Model] = [
            STAN(index),
            SequentialRules(index),
            CoVisitation(index),
            Revisits(index),
        ]
        self.weights = np.ones(len(self.parts))

    def learn(self, training: Training) -> None:
        super().learn(training)
        early, lists, starts = training.split(VALIDATION_SHARE)
        if len(early.starts) and lists:
            for part in self.parts:
                part.learn(early)
            self.weights = self._best_weights(lists, starts)
        for part in self.parts:
            part.learn(training)

    def _best_weights(self, lists: list[list[int]], starts: np.ndarray) -> np.ndarray:
        """The blend with the best MRR@10 over the next pages of the validation sessions,
        each ranked among the components' shortlists (the current page never a candidate)."""
        stacked, ties, targets = [], [], []
        # Ties are broken as `recommend` breaks them: by popularity, then by position.
        order = np.empty(len(self.popular))
        order[self.by_popularity] = np.arange(len(self.popular))
        tie_break = -order * 1e-9
        for items, start in zip(lists, starts, strict=True):
            for step in range(1, len(items)):
                history, target = items[:step], items[step]
                parts = [self._normalised(part.scores(history, start)) for part in self.parts]
                shortlist = {target}
                for scores in parts:
                    if len(scores) > SHORTLIST:
                        scores = np.argpartition(-scores, SHORTLIST)[:SHORTLIST]
                        shortlist.update(scores.tolist())
                    else:
                        shortlist.update(range(len(scores)))
                shortlist.discard(history[-1])
                if target == history[-1]:
                    continue
                chosen = np.array(sorted(shortlist))
                stacked.append(np.stack([scores[chosen] for scores in parts], axis=1))
                ties.append(tie_break[chosen])
                targets.append(int(np.searchsorted(chosen, target)))
        if not stacked:
            return self.weights
        # Side by side, padded: (events, candidates, components) scores, ranked for every
        # blend at once per weight vector.
        width = max(len(table) for table in stacked)
        tables = np.zeros((len(stacked), width, len(self.parts)))
        tie = np.full((len(stacked), width), -np.inf)
        for row, (table, found) in enumerate(zip(stacked, ties, strict=True)):
            tables[row, : len(table)], tie[row, : len(table)] = table, found
        wanted = np.array(targets)
        best, best_score = self.weights, -1.0
        for weights in product(BLEND_WEIGHTS, repeat=len(self.parts)):
            if not any(weights) or max(weights) != 1.0:
                continue  # blends differ only up to scale: the largest weight is 1
            blended = tables @ np.array(weights) + tie
            target = blended[np.arange(len(wanted)), wanted]
            rank = (blended > target[:, None]).sum(axis=1) + 1
            score = float(np.where(rank <= 10, 1.0 / rank, 0.0).sum())
            if score > best_score:
                best, best_score = np.array(weights), score
        return best

    @staticmethod
    def _normalised(values: np.ndarray) -> np.ndarray:
        top = values.max() if len(values) else 0.0
        return values / top if top > 0 else values

    def scores(self, history: Sequence[int], now: float | None = None) -> np.ndarray:
        found = np.zeros(len(self.index.items))
        for weight, part in zip(self.weights, self.parts, strict=True):
            if weight:
                found += weight * self._normalised(part.scores(history, now))
        return found


class Content(Model):
    """Pages like the current one by text (TF-IDF cosine over title, tags and body); needs
    the pages themselves, so it is evaluated only where their texts are known."""

    name = "content"

    def __init__(self, index: ItemIndex, pages: dict[str, Any]) -> None:
        super().__init__(index)
        self.pages = pages

    def learn(self, training: Training) -> None:
        from generator.recommend.text import tfidf_vectors

        super().learn(training)
        self.vectors = tfidf_vectors([self.pages[item] for item in self.index.items])

    def scores(self, history: Sequence[int], now: float | None = None) -> np.ndarray:
        if not history:
            return np.zeros(len(self.index.items))
        return np.asarray((self.vectors @ self.vectors[history[-1]].T).todense()).ravel()


MODELS: dict[str, type[Model]] = {
    model.name: model
    for model in (Popularity, CoVisitation, Transitions, SequentialRules, VSKNN, STAN, Hybrid)
}
