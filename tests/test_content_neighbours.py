"""Content neighbours updated from the last build's model equal a clean computation, bit for
bit, through sequences of edits; and a clean computation matches the plain definition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from generator.content.page import Page
from generator.content.sources import parse_source
from generator.recommend import neighbours
from generator.recommend.text import tfidf_vectors

WORDS = [f"w{number}" for number in range(400)]


def page(folder: Path, name: str, words: list[str], tags: list[str]) -> Page:
    path = folder / f"{name}.md"
    path.write_text(f"---\ntitle: {name}\ntags: [{', '.join(tags)}]\n---\n{' '.join(words)}\n")
    return Page(f"pool/{name}", parse_source(path, path.name), "pool", f"/{name}/", name, False)


def random_text(rng: np.random.Generator) -> tuple[list[str], list[str]]:
    # Mostly few words and a skewed choice: many shared terms, many exactly equal scores;
    # some long pages, whose keywords (text.KEYWORDS) are only part of their terms.
    length = int(rng.integers(0, 40 if rng.random() < 0.7 else 160))
    weights = 1.0 / np.arange(1, len(WORDS) + 1)
    chosen = rng.choice(WORDS, size=length, p=weights / weights.sum())
    tags = rng.choice(["red", "blue", "green"], size=int(rng.integers(0, 3)), replace=False)
    return [str(word) for word in chosen], [str(tag) for tag in tags]


def assert_same(updated: neighbours.ContentModel, clean: neighbours.ContentModel) -> None:
    assert np.array_equal(updated.terms, clean.terms)
    assert (updated.counts != clean.counts).nnz == 0
    assert np.array_equal(updated.rows, clean.rows)
    assert np.array_equal(updated.ids[:, :4], clean.ids[:, :4])
    assert np.array_equal(updated.scores[:, :4], clean.scores[:, :4])


@pytest.mark.parametrize("margin", [1, 3])
@pytest.mark.parametrize("seed", range(4))
def test_updates_equal_a_clean_computation_through_a_series_of_edits(
    tmp_path: Path, seed: int, margin: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a margin of 1, a list is short as soon as a page it holds changes: the lists
    # computed again are exercised as much as the merged ones.
    monkeypatch.setattr(neighbours, "MARGIN", margin)
    rng = np.random.default_rng(seed)
    count = 4
    texts = [random_text(rng) for _ in range(150)]
    pages = [page(tmp_path, f"p{n:03d}", *text) for n, text in enumerate(texts)]
    model = neighbours.update(pages, count)
    merged = 0
    for edit in range(30):
        edited = int(rng.integers(0, len(pages)))
        words, tags = texts[edited]
        kind = edit % 5
        if kind == 0 or not words:
            words, tags = random_text(rng)  # rewritten
        elif kind == 1:
            words = [*words, "unique", f"term{edit}"]  # new terms
        elif kind == 2:
            words = words[1:]  # a word less
        elif kind == 3:
            words, tags = ["unique", f"term{edit}"], []  # now like no other page
        else:
            words = [*words, words[int(rng.integers(0, len(words)))]]  # a word more often
        texts[edited] = (words, tags)
        pages[edited] = page(tmp_path, f"p{edited:03d}", words, tags)
        before = model
        model = neighbours.update(pages, count, before)
        merged += model.ids is not before.ids and before.keys == model.keys
        clean = neighbours.update(pages, count)
        assert_same(model, clean)
        # The lists are exact up to `count`; the kept extra entries are exact as far as
        # they go (an incomplete list may be shorter than a clean one).
        for row in range(len(pages)):
            length = int((model.ids[row] >= 0).sum())
            assert np.array_equal(model.ids[row, :length], clean.ids[row, :length])


def test_a_clean_computation_is_the_plain_definition(tmp_path: Path) -> None:
    """Best `count` by cosine similarity, positive only, never the page itself, ties by
    the earlier page."""
    rng = np.random.default_rng(11)
    pages = [page(tmp_path, f"p{n:03d}", *random_text(rng)) for n in range(70)]
    similarity = (tfidf_vectors(pages) @ tfidf_vectors(pages).T).toarray()
    found = neighbours.update(pages, 5).neighbours(5)
    for row in range(len(pages)):
        others = [(-similarity[row, c], c) for c in range(len(pages)) if c != row]
        expected = [c for score, c in sorted(others) if score < 0][:5]
        assert found[row] == expected


def test_the_saved_model_loads_as_it_was_and_a_damaged_one_is_ignored(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    pages = [page(tmp_path, f"p{n:03d}", *random_text(rng)) for n in range(30)]
    model = neighbours.update(pages, 3)
    path = tmp_path / "state/site.content.npz"
    model.save(path)
    loaded = neighbours.load(path)
    assert loaded is not None
    assert loaded.keys == model.keys and loaded.digests == model.digests
    assert_same(loaded, model)
    assert np.array_equal(loaded.complete, model.complete)
    path.write_bytes(path.read_bytes()[:100])
    assert neighbours.load(path) is None
    assert neighbours.load(tmp_path / "missing.npz") is None


def test_unchanged_texts_are_not_read_again(tmp_path: Path) -> None:
    """The next build takes unchanged pages' term counts from the model, so it never reads
    their bodies (the files are gone here; reading one would fail)."""
    rng = np.random.default_rng(5)
    pages = [page(tmp_path, f"p{n:03d}", *random_text(rng)) for n in range(20)]
    model = neighbours.update(pages, 3)
    again = [
        Page(p.key, parse_source(p.source.path, p.source.display), p.pool, p.url, "", False)
        for p in pages
    ]
    for p in again:
        p.source.path.unlink()
    assert neighbours.update(again, 3, model).ids.tolist() == model.ids.tolist()


def test_a_page_no_longer_similar_leaves_the_lists_that_held_it(tmp_path: Path) -> None:
    """A page gains more distinctive words, so the word it shared with another page is no
    longer one of its keywords: the other page is unchanged (no document frequency it uses
    moved) and must drop it all the same."""
    rare = [f"rare{n}" for n in range(40)]
    fillers = [page(tmp_path, f"f{n}", [f"filler{n}", "common"], []) for n in range(8)]
    other = page(tmp_path, "other", ["shared", "own", "words"], [])
    pages = [page(tmp_path, "edited", [*rare, "shared"], []), other, *fillers]
    model = neighbours.update(pages, 3)
    assert 0 in model.neighbours(3)[1]
    pages[0] = page(tmp_path, "edited", [*rare, "shared", *(f"new{n}" for n in range(12))], [])
    updated = neighbours.update(pages, 3, model)
    assert 0 not in updated.neighbours(3)[1]
    assert_same(updated, neighbours.update(pages, 3))


def test_a_thousand_pages_with_only_single_page_sessions_still_get_full_lists(
    tmp_path: Path,
) -> None:
    """Issue 17: no session longer than one page gives no co-visitation nor next-page
    rules; every list is still full (content neighbours, then the most viewed pages),
    never the page itself. Many pages share no word with any other (their content lists
    are short or empty)."""
    from generator.recommend.related import recommend
    from generator.recommend.sessions import Session

    rng = np.random.default_rng(5)
    pages = []
    for number in range(1000):
        words, tags = random_text(rng) if number % 2 else ([f"only{number}"], [])
        pages.append(page(tmp_path, f"p{number}", words, tags))
    sessions = [
        Session(f"s{n}", float(n), (pages[int(rng.integers(0, 1000))].key,)) for n in range(3000)
    ]
    found = recommend(pages, sessions, 5)
    for source in pages:
        for name, lists in (("related", found.related), ("next", found.next_pages)):
            chosen = lists[source.key]
            assert len(chosen) == 5 and len(set(chosen)) == 5, (name, source.key, chosen)
            assert source.key not in chosen
    assert found.next_chances == {}  # nothing followed anything: no probabilities made up
    lonely = found.related[pages[0].key]  # "only0" shares no word: the most viewed pages
    views = {key: sum(s.items == (key,) for s in sessions) for key in lonely}
    assert list(views.values()) == sorted(views.values(), reverse=True)
