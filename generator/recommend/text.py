"""What pages are about, as numbers: one TF-IDF vector of keywords per page (the content
model of related pages and of the hybrid next-page model)."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from itertools import chain, filterfalse

import numpy as np
from scipy import sparse

from generator.content.page import Page

WORD = re.compile(r"[a-zà-ÿ0-9]{2,}")
STOP_WORDS = frozenset(
    """a an and are as at be by can do for from has have if in into is it
its not of on or so that the their them then there these they this to was we were what when
which will with you your our more most one two than too very also just about only""".split()
)


def term_counts(page: Page) -> Counter[str]:
    """How often each term occurs in a page: its title (counted three times), its tags (as
    `tag:<name>`, twice) and its body, without stop words."""
    title = [w for w in WORD.findall(page.title.lower()) if w not in STOP_WORDS]
    tags = [f"tag:{tag.lower()}" for tag in page.tags]
    body = list(filterfalse(STOP_WORDS.__contains__, WORD.findall(page.source.body.lower())))
    return Counter(title * 3 + tags * 2 + body)


def text_digest(page: Page) -> str:
    """Changes whenever `term_counts(page)` may: the file's digest, title and tags."""
    text = "\0".join((page.source.digest, page.title, *page.tags))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


KEYWORDS = 48
"""Terms kept per page: its most distinctive words. Similarity over keywords is what readers
mean by "about the same thing", and it keeps the products sparse for large sites."""


def _keep_top_terms(matrix: sparse.csr_matrix, count: int) -> sparse.csr_matrix:
    """Each row's `count` largest values (and any equal to the smallest of them), the rest
    dropped; in one pass over all rows (a loop over rows cost 0.3 s for 5,000 pages)."""
    lengths = np.diff(matrix.indptr)
    long = np.flatnonzero(lengths > count)
    if not len(long):
        return matrix
    # The long rows side by side, padded with -inf: the threshold of each is the value at
    # position `count - 1` once partitioned, largest first.
    starts, sizes = matrix.indptr[long], lengths[long]
    padded = np.full((len(long), int(sizes.max())), -np.inf)
    row = np.repeat(np.arange(len(long)), sizes)
    offset = np.arange(len(row)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    padded[row, offset] = matrix.data[np.repeat(starts, sizes) + offset]
    thresholds = np.full(matrix.shape[0], -np.inf)
    thresholds[long] = -np.partition(-padded, count - 1, axis=1)[:, count - 1]
    rows = np.repeat(np.arange(matrix.shape[0]), lengths)
    data = np.where(matrix.data >= thresholds[rows], matrix.data, 0.0)
    # Copies: eliminate_zeros() compacts the arrays it is given in place.
    pruned = sparse.csr_matrix(
        (data, matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape
    )
    pruned.eliminate_zeros()
    return pruned


def count_matrix(counts: Sequence[Counter[str]]) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Occurrences per page (rows) and term (columns), with the terms in sorted order: a
    row's entries are then in the same order whatever other pages exist, so its products
    with other rows add the same numbers in the same order in every build."""
    vocabulary = sorted(set().union(*counts))
    column = {term: index for index, term in enumerate(vocabulary)}
    lengths = np.fromiter((len(found) for found in counts), dtype=np.int64, count=len(counts))
    total = int(lengths.sum())
    # map/chain rather than generator expressions: two million terms in half the time.
    columns = np.fromiter(
        map(column.__getitem__, chain.from_iterable(counts)), dtype=np.int32, count=total
    )
    values = np.fromiter(
        chain.from_iterable(found.values() for found in counts), dtype=np.float64, count=total
    )
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    shape = (len(counts), max(len(vocabulary), 1))
    matrix = sparse.csr_matrix((values, columns, indptr), shape=shape)
    matrix.sort_indices()  # each row's terms in column order, row by row
    terms = np.array(vocabulary, dtype=str)
    return matrix, terms


def weigh(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """Occurrences -> one unit-length TF-IDF row per page (sublinear term frequency,
    keywords only): the dot product of two rows is their cosine similarity.

    Every step is row-local once the document frequencies are known (no sum mixes two
    rows), so a page whose terms' frequencies did not change gets the same row, bit for
    bit, as in the last build."""
    pages = counts.shape[0]
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((1 + pages) / (1 + document_frequency)) + 1.0
    data = (1.0 + np.log(counts.data)) * idf[counts.indices]
    weighted = sparse.csr_matrix((data, counts.indices, counts.indptr), shape=counts.shape)
    matrix = _keep_top_terms(weighted, KEYWORDS)
    # A matrix-vector product sums each row on its own, in its stored order.
    squares = sparse.csr_matrix(
        (matrix.data * matrix.data, matrix.indices, matrix.indptr), shape=matrix.shape
    )
    norms = np.sqrt(squares @ np.ones(matrix.shape[1]))
    scale = 1.0 / np.maximum(norms, 1e-12)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    return sparse.csr_matrix(
        (matrix.data * scale[rows], matrix.indices.copy(), matrix.indptr.copy()),
        shape=matrix.shape,
    )


def tfidf_vectors(pages: Sequence[Page]) -> sparse.csr_matrix:
    """One unit-length TF-IDF row per page (see `weigh`)."""
    return weigh(count_matrix([term_counts(page) for page in pages])[0])
