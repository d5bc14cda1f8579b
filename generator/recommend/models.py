"""Next-page models trained on sessions.

Each model maps the pages of a session so far to scored candidates for the next page. All
share one item index and use numpy / scipy.sparse so that 10,000 pages and a million events
fit in seconds:

- `popularity`: most viewed pages (the baseline);
- `covisit`: item-item cosine over sessions, with shrinkage so that two rare pages seen
  together once do not look like a perfect match;
- `transitions`: first-order transitions, page -> the page viewed right after it;
- `sequential`: sequential rules (Ludewig & Jannach): every later page of a session within a
  few steps counts, weighted by 1/distance;
- `hybrid`: sequential rules on the current page, blended with co-visitation over the whole
  session so far, backed off to popularity for pages with no history. The blend weight (1.5)
  was chosen on a time split of the yoochoose training sessions (last 20% as validation),
  never on the test day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from generator.recommend.sessions import Session, collapse_reloads


@dataclass
class ItemIndex:
    items: list[str]
    position: dict[str, int]

    @classmethod
    def of(cls, sessions: Sequence[Session]) -> ItemIndex:
        items = sorted({item for session in sessions for item in session.items})
        return cls(items, {item: index for index, item in enumerate(items)})


class Model:
    name = "model"

    def __init__(self, index: ItemIndex) -> None:
        self.index = index

    def fit(self, sessions: Sequence[Session]) -> Model:
        return self

    def scores(self, history: Sequence[int]) -> np.ndarray:
        """A score per item for the page after `history` (item positions, last = current)."""
        raise NotImplementedError

    def recommend(
        self, history: Sequence[int], count: int = 10, exclude: Sequence[int] = ()
    ) -> list[int]:
        scores = self.scores(history).astype(float, copy=True)
        for position in exclude:
            scores[position] = -np.inf
        if count >= len(scores):
            order = np.argsort(-scores, kind="stable")
        else:
            top = np.argpartition(-scores, count)[:count]
            order = top[np.argsort(-scores[top], kind="stable")]
        return [int(i) for i in order[:count] if np.isfinite(scores[i]) and scores[i] > 0]


def _sessions_as_positions(sessions: Sequence[Session], index: ItemIndex) -> list[list[int]]:
    return [
        [index.position[item] for item in collapse_reloads(session.items) if item in index.position]
        for session in sessions
    ]


class Popularity(Model):
    name = "popularity"

    def fit(self, sessions: Sequence[Session]) -> Popularity:
        counts = np.zeros(len(self.index.items))
        for positions in _sessions_as_positions(sessions, self.index):
            np.add.at(counts, positions, 1.0)
        self.counts = counts / max(counts.max(), 1.0)
        return self

    def scores(self, history: Sequence[int]) -> np.ndarray:
        counts: np.ndarray = self.counts
        return counts


class CoVisitation(Model):
    name = "covisit"

    def __init__(self, index: ItemIndex, shrinkage: float = 5.0) -> None:
        super().__init__(index)
        self.shrinkage = shrinkage

    def fit(self, sessions: Sequence[Session]) -> CoVisitation:
        rows, columns = [], []
        for number, positions in enumerate(_sessions_as_positions(sessions, self.index)):
            for position in set(positions):
                rows.append(number)
                columns.append(position)
        size = len(self.index.items)
        incidence = sparse.csr_matrix(
            (np.ones(len(rows)), (rows, columns)), shape=(max(len(sessions), 1), size)
        )
        together = (incidence.T @ incidence).tocsr().astype(float)
        counts = np.asarray(together.diagonal()).ravel()
        together.setdiag(0)
        together.eliminate_zeros()
        coo = together.tocoo()
        norms = np.sqrt(counts[coo.row] * counts[coo.col])
        values = coo.data / np.maximum(norms, 1e-12) * (coo.data / (coo.data + self.shrinkage))
        self.similarity = sparse.csr_matrix((values, (coo.row, coo.col)), shape=(size, size))
        return self

    def scores(self, history: Sequence[int]) -> np.ndarray:
        if not history:
            return np.zeros(len(self.index.items))
        # Recent pages count more: the current page fully, earlier ones less and less.
        weights = np.zeros(len(self.index.items))
        for age, position in enumerate(reversed(history[-5:])):
            weights[position] += 1.0 / (age + 1)
        return np.asarray(self.similarity.T @ weights).ravel()


class SequentialRules(Model):
    name = "sequential"

    def __init__(self, index: ItemIndex, steps: int = 10) -> None:
        super().__init__(index)
        self.steps = steps

    def fit(self, sessions: Sequence[Session]) -> SequentialRules:
        size = len(self.index.items)
        rows: list[int] = []
        columns: list[int] = []
        values: list[float] = []
        for positions in _sessions_as_positions(sessions, self.index):
            for start, item in enumerate(positions):
                for distance in range(1, self.steps + 1):
                    if start + distance >= len(positions):
                        break
                    rows.append(item)
                    columns.append(positions[start + distance])
                    values.append(1.0 / distance)
        self.matrix = sparse.csr_matrix((values, (rows, columns)), shape=(size, size))
        self.matrix.sum_duplicates()
        return self

    def scores(self, history: Sequence[int]) -> np.ndarray:
        if not history:
            return np.zeros(len(self.index.items))
        return np.asarray(self.matrix[history[-1]].todense()).ravel()


class Transitions(SequentialRules):
    """First-order transitions: sequential rules that look one step ahead only."""

    name = "transitions"

    def __init__(self, index: ItemIndex) -> None:
        super().__init__(index, steps=1)


class Hybrid(Model):
    name = "hybrid"

    def __init__(self, index: ItemIndex, weight: float = 1.5) -> None:
        super().__init__(index)
        self.weight = weight
        self.rules = SequentialRules(index)
        self.covisit = CoVisitation(index)
        self.popularity = Popularity(index)

    def fit(self, sessions: Sequence[Session]) -> Hybrid:
        self.rules.fit(sessions)
        self.covisit.fit(sessions)
        self.popularity.fit(sessions)
        return self

    @staticmethod
    def _normalised(values: np.ndarray) -> np.ndarray:
        top = values.max() if len(values) else 0.0
        return values / top if top > 0 else values

    def scores(self, history: Sequence[int]) -> np.ndarray:
        combined: np.ndarray = self._normalised(
            self.rules.scores(history)
        ) + self.weight * self._normalised(self.covisit.scores(history))
        # Popularity only breaks ties and fills lists for pages without history.
        result: np.ndarray = combined + 1e-3 * self.popularity.counts
        return result


class Content(Model):
    """Pages like the current one by text (TF-IDF cosine over title, tags and body); needs
    the pages themselves, so it is evaluated only where their texts are known."""

    name = "content"

    def __init__(self, index: ItemIndex, pages: dict[str, Any]) -> None:
        super().__init__(index)
        self.pages = pages

    def fit(self, sessions: Sequence[Session]) -> Content:
        from generator.recommend.text import tfidf_vectors

        self.vectors = tfidf_vectors([self.pages[item] for item in self.index.items])
        return self

    def scores(self, history: Sequence[int]) -> np.ndarray:
        if not history:
            return np.zeros(len(self.index.items))
        return np.asarray((self.vectors @ self.vectors[history[-1]].T).todense()).ravel()


MODELS: dict[str, type[Model]] = {
    model.name: model for model in (Popularity, CoVisitation, Transitions, SequentialRules, Hybrid)
}
