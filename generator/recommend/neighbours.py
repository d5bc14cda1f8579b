"""Content neighbours (the pages most similar by text) kept from one build to the next.

A clean computation multiplies every page's TF-IDF row with every other. After a one-page
edit almost nothing changes: the edited page's row, and the rows of pages whose keywords'
document frequencies moved. `ContentModel` keeps what the last build computed (each page's
term counts by text digest, each row's digest, and each page's best `keep` neighbours with
their scores), and `update` recomputes only what changed, with the result a clean
computation would give, bit for bit:

- the similarity of two unchanged rows is the same number as before (same entries, same
  order of addition; see `text.weigh`);
- an unchanged row's new list merges its old list, minus changed pages, with its new scores
  against the changed pages. The old list is its best `keep` pages, so after the changed
  pages are dropped, what remains is exact up to its last entry, and so is the merge up to
  that entry; a list that falls below the `count` a build needs is computed again.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from generator.content.page import Page
from generator.recommend.text import KEYWORDS, count_matrix, term_counts, text_digest, weigh

FORMAT = 1
MARGIN = 3
"""Neighbours kept per page, as a multiple of the count a build publishes: the slack that
lets most edits be merged instead of computed again."""
BLOCK = 512
"""Rows multiplied at once by a clean computation (a dense block of BLOCK x pages scores)."""


@dataclass(frozen=True)
class ContentModel:
    """Everything one computation of content neighbours knew, for the next build."""

    keys: tuple[str, ...]
    digests: tuple[str, ...]
    """Per page, `text.text_digest`: its term counts can be reused while it holds."""
    terms: np.ndarray
    """The vocabulary, sorted (column index -> term)."""
    counts: sparse.csr_matrix
    """Occurrences per page and term."""
    rows: np.ndarray
    """Per page, a digest of its TF-IDF row (terms and values)."""
    ids: np.ndarray
    """Per page, its best `keep` neighbours (row indexes, best first, -1 after the last)."""
    scores: np.ndarray
    """Their cosine similarities."""
    complete: np.ndarray
    """Per page, True when its list holds every page with a positive similarity."""

    @property
    def keep(self) -> int:
        return int(self.ids.shape[1])

    def neighbours(self, count: int) -> list[list[int]]:
        """Each page's `count` best neighbours, best first."""
        return [[int(i) for i in row if i >= 0] for row in self.ids[:, :count]]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        with temporary.open("wb") as file:
            np.savez(
                file,
                format=np.array([FORMAT, KEYWORDS]),
                keys=np.array(self.keys, dtype=str),
                digests=np.array(self.digests, dtype=str),
                terms=self.terms,
                data=self.counts.data.astype(np.uint32),  # whole occurrences
                indices=self.counts.indices,
                indptr=self.counts.indptr,
                shape=np.array(self.counts.shape),
                rows=self.rows,
                ids=self.ids.astype(np.int32),
                scores=self.scores,
                complete=self.complete,
            )
        temporary.replace(path)


def load(path: Path) -> ContentModel | None:
    """The model a build saved, or None when there is none or it cannot be used (another
    format, damaged): the next computation is then a clean one."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if stored["format"].tolist() != [FORMAT, KEYWORDS]:
                return None
            counts = sparse.csr_matrix(
                (stored["data"].astype(np.float64), stored["indices"], stored["indptr"]),
                shape=tuple(stored["shape"].tolist()),
            )
            return ContentModel(
                keys=tuple(stored["keys"].tolist()),
                digests=tuple(stored["digests"].tolist()),
                terms=stored["terms"],
                counts=counts,
                rows=stored["rows"],
                ids=stored["ids"].astype(np.int64),
                scores=stored["scores"],
                complete=stored["complete"],
            )
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def update(pages: Sequence[Page], count: int, previous: ContentModel | None = None) -> ContentModel:
    """The content model of `pages` (lists of `count` x MARGIN neighbours), reusing what
    `previous` computed wherever it still holds."""
    keep = max(count * MARGIN, 1)
    keys = tuple(page.key for page in pages)
    digests = tuple(text_digest(page) for page in pages)
    counts, terms = _counts(pages, digests, previous)
    matrix = weigh(counts)
    rows = _row_digests(matrix, terms)
    if previous is None or previous.keys != keys or previous.keep != keep:
        ids, scores, complete = _compute(matrix, np.arange(len(pages)), keep)
        return ContentModel(keys, digests, terms, counts, rows, ids, scores, complete)
    changed = np.flatnonzero(rows != previous.rows)
    if not len(changed):
        return ContentModel(
            keys, digests, terms, counts, rows, previous.ids, previous.scores, previous.complete
        )
    if len(changed) * 4 > len(pages):
        ids, scores, complete = _compute(matrix, np.arange(len(pages)), keep)
        return ContentModel(keys, digests, terms, counts, rows, ids, scores, complete)
    ids, scores, complete = _merge(matrix, previous, changed, count)
    return ContentModel(keys, digests, terms, counts, rows, ids, scores, complete)


def _counts(
    pages: Sequence[Page], digests: Sequence[str], previous: ContentModel | None
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """The occurrence matrix of `pages`: rows of unchanged texts from `previous`, the
    others counted; terms no page uses any more are dropped."""
    known = {} if previous is None else {d: i for i, d in enumerate(previous.digests)}
    reused = [known.get(digest, -1) for digest in digests]
    fresh = [index for index, row in enumerate(reused) if row < 0]
    if previous is None or len(fresh) == len(pages):
        return count_matrix([term_counts(page) for page in pages])
    counted, new_terms = count_matrix([term_counts(pages[index]) for index in fresh])
    old = previous.counts[[row for row in reused if row >= 0]]
    vocabulary = np.union1d(previous.terms[np.unique(old.indices)], new_terms)
    # Both term lists are sorted and so is the union: remapping keeps rows sorted.
    old = _remap(old, np.searchsorted(vocabulary, previous.terms), len(vocabulary))
    counted = _remap(counted, np.searchsorted(vocabulary, new_terms), len(vocabulary))
    stacked = sparse.vstack([old, counted], format="csr")
    order = np.empty(len(pages), dtype=np.int64)
    order[[index for index, row in enumerate(reused) if row >= 0]] = np.arange(old.shape[0])
    order[fresh] = old.shape[0] + np.arange(len(fresh))
    return stacked[order], vocabulary


def _remap(matrix: sparse.csr_matrix, columns: np.ndarray, width: int) -> sparse.csr_matrix:
    """Same rows with column `c` moved to `columns[c]` (which must keep their order)."""
    indices = columns[matrix.indices] if len(matrix.indices) else matrix.indices.copy()
    return sparse.csr_matrix(
        (matrix.data.copy(), indices.astype(np.int32), matrix.indptr.copy()),
        shape=(matrix.shape[0], width),
    )


def _row_digests(matrix: sparse.csr_matrix, terms: np.ndarray) -> np.ndarray:
    """A digest per row of its terms and exact values, comparable across builds whatever
    the column numbering."""
    names = terms[matrix.indices] if len(matrix.indices) else np.array([], dtype=str)
    digests = []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        digest = hashlib.blake2b(digest_size=16)
        digest.update("\0".join(names[start:end].tolist()).encode())
        digest.update(matrix.data[start:end].tobytes())
        digests.append(digest.digest())
    return np.array(digests, dtype="S16")


def _compute(
    matrix: sparse.csr_matrix, rows: np.ndarray, keep: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best `keep` neighbours of `rows` against every page, by blocks of rows."""
    transposed = matrix.T.tocsr()
    ids = np.full((len(rows), keep), -1, dtype=np.int64)
    scores = np.zeros((len(rows), keep))
    complete = np.zeros(len(rows), dtype=bool)
    for start in range(0, len(rows), BLOCK):
        block = rows[start : start + BLOCK]
        dense = (matrix[block] @ transposed).toarray()
        dense[np.arange(len(block)), block] = 0.0
        found = _best(dense, keep)
        ids[start : start + BLOCK], scores[start : start + BLOCK] = found[0], found[1]
        complete[start : start + BLOCK] = found[2]
    return ids, scores, complete


def _best(dense: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of `dense`, the columns of its `keep` highest positive values, best first,
    ties by lower column; and whether that is every positive value."""
    height, width = dense.shape
    complete = (dense > 0).sum(axis=1) <= keep
    if keep < width:
        threshold = -np.partition(-dense, keep - 1, axis=1)[:, keep - 1]
        rows, columns = np.nonzero((dense >= threshold[:, None]) & (dense > 0))
    else:
        rows, columns = np.nonzero(dense > 0)
    return _ranked(rows, columns, dense[rows, columns], height, keep) + (complete,)


def _ranked(
    rows: np.ndarray, columns: np.ndarray, values: np.ndarray, height: int, keep: int
) -> tuple[np.ndarray, np.ndarray]:
    """(row, column, value) candidates -> per row, the best `keep` columns and values
    (highest value first, ties by lower column), -1 and 0 after the last."""
    order = np.lexsort((columns, -values, rows))
    return _placed(rows[order], columns[order], values[order], height, keep)


def _placed(
    rows: np.ndarray, columns: np.ndarray, values: np.ndarray, height: int, keep: int
) -> tuple[np.ndarray, np.ndarray]:
    """`_ranked` of candidates already in that order."""
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
    kept = rank < keep
    ids = np.full((height, keep), -1, dtype=np.int64)
    scores = np.zeros((height, keep))
    ids[rows[kept], rank[kept]] = columns[kept]
    scores[rows[kept], rank[kept]] = values[kept]
    return ids, scores


def _merge(
    matrix: sparse.csr_matrix, previous: ContentModel, changed: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lists after the rows `changed` changed (see the module's docstring)."""
    pages, keep = matrix.shape[0], previous.keep
    is_changed = np.zeros(pages, dtype=bool)
    is_changed[changed] = True
    # Scores of every row against the changed ones, added in each row's own order.
    against = (matrix @ matrix[changed].T).toarray()
    against[changed, np.arange(len(changed))] = 0.0
    listed = (previous.ids >= 0) & is_changed[np.maximum(previous.ids, 0)]
    # Other rows neither list a changed page nor are similar to one: their lists stand.
    affected = np.flatnonzero(((against > 0).any(axis=1) | listed.any(axis=1)) & ~is_changed)
    old_ids, old_scores = previous.ids[affected], previous.scores[affected]
    old_valid = (old_ids >= 0) & ~is_changed[np.maximum(old_ids, 0)]
    new_rows, new_columns = np.nonzero(against[affected] > 0)
    rows = np.concatenate([np.nonzero(old_valid)[0], new_rows])
    columns = np.concatenate([old_ids[old_valid], changed[new_columns]])
    values = np.concatenate([old_scores[old_valid], against[affected][new_rows, new_columns]])
    known = np.concatenate([np.ones(old_valid.sum(), dtype=bool), np.zeros(len(new_rows), bool)])
    order = np.lexsort((columns, -values, rows))
    rows, columns, values, known = rows[order], columns[order], values[order], known[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
    # An incomplete list is exact only up to its last surviving old entry.
    last_known = np.full(len(affected), -1)
    np.maximum.at(last_known, rows[known], rank[known])
    was_complete = previous.complete[affected]
    limit = np.where(was_complete, keep, np.minimum(last_known + 1, keep))
    within = rank < limit[rows]
    ids, scores = previous.ids.copy(), previous.scores.copy()
    ids[affected], scores[affected] = _placed(
        rows[within], columns[within], values[within], len(affected), keep
    )
    complete = previous.complete.copy()
    complete[affected] = was_complete & (np.bincount(rows, minlength=len(affected)) <= keep)
    short = affected[~complete[affected] & ((ids[affected] >= 0).sum(axis=1) < count)]
    again = np.union1d(changed, short)
    ids[again], scores[again], complete[again] = _compute(matrix, again, keep)
    return ids, scores, complete
