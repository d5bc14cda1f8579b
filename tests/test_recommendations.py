"""Recommendations in the build: content-based without events, co-visitation with them,
and never a page the site does not publish."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result


def rec(project: Path, site: str, page: str) -> dict[str, list[Any]]:
    lists: dict[str, list[Any]] = json.loads(
        (project / f"build/{site}/_sg/rec/{page}.json").read_text()
    )
    return lists


def test_content_based_without_events_and_gate_safety(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    (project / "content/articles/alpha-two.md").write_text(
        "---\ntitle: Alpha again\ndate: 2026-01-09\ntags: [red]\n---\n"
        "Alpha body text, a heading and a table, the alpha sequel.\n"
    )
    assert sitegen(project, "build").code == 0
    brand = {
        url
        for site_page in [
            "articles/alpha",
            "articles/beta",
            "articles/gamma-ray",
            "articles/alpha-two",
            "about",
        ]
        for url in [entry["url"] for entry in rec(project, "brand", site_page)["related"]]
    }
    published = {
        "/articles/alpha/",
        "/articles/beta/",
        "/articles/gamma-ray/",
        "/articles/alpha-two/",
        "/about/",
        "/news/hello/",
        "/news/world/",
    }
    assert brand <= published  # never drafts or gated pages
    assert "/articles/deep/nested/" not in brand and "/articles/delta/" not in brand
    alpha = rec(project, "brand", "articles/alpha")["related"]
    assert alpha[0]["url"] == "/articles/alpha-two/"  # the closest text
    assert all(entry["url"] != "/articles/alpha/" for entry in alpha)
    assert set(alpha[0]) == {"title", "url", "summary", "image"}
    html = (project / "build/brand/articles/alpha/index.html").read_text()
    assert re.search(
        r'<a href="/articles/alpha-two/" data-sg-rec="/articles/alpha-two/">', html
    )  # a list without JavaScript


def test_co_visitation_from_ingested_events(
    project: Path, sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    export = tmp_path / "events.jsonl"
    rows = []
    for visitor in range(6):  # six visitors read alpha, then world
        for step, page in enumerate(["/articles/alpha/", "/news/world/"]):
            rows.append(
                {
                    "time": 1780000000 + visitor * 7200 + step * 60,
                    "type": "view",
                    "page": page,
                    "visitor": f"v{visitor}",
                    "session": f"s{visitor}",
                }
            )
    export.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert sitegen(project, "analytics", "ingest", "brand", "--jsonl", str(export)).code == 0
    assert sitegen(project, "build", "brand").code == 0
    alpha = rec(project, "brand", "articles/alpha")
    assert alpha["related"][0]["url"] == "/news/world/"
    assert alpha["next"][0] == "/news/world/"
    assert "0 rendered" in sitegen(project, "build", "brand").out
    # newly ingested events are an input like any file: the next build sees them
    more = tmp_path / "more.jsonl"
    more.write_text(
        "".join(
            json.dumps(
                {
                    "time": 1790000000 + n * 7200 + step * 60,
                    "type": "view",
                    "page": page,
                    "visitor": f"w{n}",
                    "session": f"t{n}",
                }
            )
            + "\n"
            for n in range(20)
            for step, page in enumerate(["/articles/alpha/", "/about/"])
        )
    )
    assert sitegen(project, "analytics", "ingest", "brand", "--jsonl", str(more)).code == 0
    assert sitegen(project, "build", "brand").code == 0
    assert rec(project, "brand", "articles/alpha")["related"][0]["url"] == "/about/"


def test_cross_site_sources_come_with_absolute_urls_and_respect_gates(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    from tests.conftest import edit

    edit(
        project / "sites/brand/site.yaml", "menu+:", "recommendations:\n  sources: [other]\nmenu+:"
    )
    (project / "sites/other/content").mkdir(parents=True)
    (project / "sites/other/content/alpha-story.md").write_text(
        "---\ntitle: The alpha story\ntags: [red]\n---\n"
        "Alpha body text, a heading and a table: the alpha story from other.\n"
    )
    assert sitegen(project, "build", "brand").code == 0
    urls = {
        entry["url"]
        for path in (project / "build/brand/_sg/rec").rglob("*.json")
        if path.name != "_popular.json"
        for entry in json.loads(path.read_text())["related"]
    }
    assert "https://other.test/alpha-story/" in urls  # another site: absolute
    assert not any("nested" in url for url in urls)  # gated away from brand
    assert not any("only-other" in url for url in urls)  # sites: [other] only
    assert not any(url.startswith("https://other.test/stories/alpha") for url in urls)
    edit(project / "sites/brand/site.yaml", "sources: [other]", "sources: [othr]")
    result = sitegen(project, "build", "brand")
    assert result.code == 1
    assert re.search(
        r"sites/brand/site.yaml:\d+: recommendations.sources: 'othr' is not "
        r"another buildable site of the network \(did you mean 'other'\?\)",
        result.err,
    ), result.err


def test_lists_are_reused_while_texts_and_views_are_unchanged(
    project: Path, sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    import generator.recommend.related as related
    from tests.conftest import edit

    computed: list[int] = []
    real = related.recommend

    def counted(*arguments: Any) -> Any:
        computed.append(len(arguments[0]))
        return real(*arguments)

    monkeypatch.setattr(related, "recommend", counted)
    assert sitegen(project, "build", "brand").code == 0
    assert len(computed) == 1
    edit(project / "themes/plain/templates/page.html", "<article>", "<article class=x>")
    assert sitegen(project, "build", "brand").code == 0
    assert len(computed) == 1  # a template edit: the lists are reused
    edit(project / "content/articles/beta.md", "Beta body.", "Beta body, longer now.")
    assert sitegen(project, "build", "brand").code == 0  # beta is overridden in brand
    assert len(computed) == 1
    edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, longer now.")
    assert sitegen(project, "build", "brand").code == 0
    assert len(computed) == 2  # a text edit: computed again
    # --clean trusts nothing kept: lists and the content model are computed from scratch.
    from generator.recommend import neighbours

    loaded: list[object] = []
    real_load = neighbours.load

    def counted_load(path: Path) -> Any:
        loaded.append(path)
        return real_load(path)

    monkeypatch.setattr(neighbours, "load", counted_load)
    assert sitegen(project, "build", "brand", "--clean").code == 0
    assert len(computed) == 3 and loaded == []
    edit(project / "content/articles/gamma.md", "longer now", "longer still")
    assert sitegen(project, "build", "brand").code == 0
    assert len(computed) == 4 and len(loaded) == 1  # an ordinary build updates the model


def test_content_lists_are_full_when_there_are_enough_similar_pages(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    for number in range(8):
        (project / f"content/articles/boots-{number}.md").write_text(
            f"---\ntitle: Boots part {number}\ntags: [red]\n---\n"
            "Leather boots, laces, soles and resoling: caring for walking boots.\n"
        )
    assert sitegen(project, "build", "brand").code == 0
    related = rec(project, "brand", "articles/boots-0")["related"]
    assert len(related) == 5  # recommendations.count
    assert all(entry["url"].startswith("/articles/boots-") for entry in related)


def test_popularity_overall_and_per_segment(
    project: Path, sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    export = tmp_path / "events.jsonl"
    views = (
        [("/articles/alpha/", ["newsletter"])] * 3
        + [("/news/world/", [])] * 5
        + [("/articles/beta/", ["newsletter", "returning"])] * 4
    )
    export.write_text(
        "".join(
            json.dumps(
                {
                    "time": 1780000000 + n,
                    "type": "view",
                    "page": page,
                    "visitor": f"v{n}",
                    "segments": segments,
                }
            )
            + "\n"
            for n, (page, segments) in enumerate(views)
        )
    )
    assert sitegen(project, "analytics", "ingest", "brand", "--jsonl", str(export)).code == 0
    assert sitegen(project, "build", "brand").code == 0
    popular = json.loads((project / "build/brand/_sg/rec/_popular.json").read_text())
    assert [entry["url"] for entry in popular[""]] == [
        "/news/world/",
        "/articles/beta/",
        "/articles/alpha/",
    ]
    assert [entry["url"] for entry in popular["newsletter"]] == [
        "/articles/beta/",
        "/articles/alpha/",
    ]
    assert [entry["url"] for entry in popular["returning"]] == ["/articles/beta/"]


def test_keyword_pruning_keeps_each_rows_largest_values_ties_included() -> None:
    """The vectorised pruning against the plain definition, row by row, on random matrices
    with many ties."""
    import numpy as np
    from scipy import sparse

    from generator.recommend.text import _keep_top_terms

    rng = np.random.default_rng(7)
    for _ in range(20):
        rows, columns = int(rng.integers(1, 120)), int(rng.integers(1, 200))
        dense = np.round(rng.random((rows, columns)), 1) * (rng.random((rows, columns)) < 0.4)
        for count in (1, 3, 48):
            pruned = _keep_top_terms(sparse.csr_matrix(dense), count).toarray()
            for row, values in enumerate(dense):
                nonzero = np.sort(values[values > 0])[::-1]
                threshold = nonzero[count - 1] if len(nonzero) > count else 0.0
                expected = np.where(values >= threshold, values, 0.0)
                assert np.array_equal(pruned[row], expected), (row, count)


def test_views_in_the_same_second_come_in_the_same_order_under_any_site_name(
    tmp_path: Path,
) -> None:
    """Sessions (and so every list) must not depend on what the site is called: views in
    one second are ordered by the browser's clock, then by what they are, never by the
    event id (a hash that includes the site's name)."""
    from generator.analytics.ingest import ingest
    from generator.analytics.store import EventStore
    from generator.recommend.site import page_views

    export = tmp_path / "events.jsonl"
    rows = [
        {"time": 1780000000, "type": "view", "page": f"/p{n}/", "visitor": "v", "session": "s"}
        for n in range(8)
    ]
    rows += [{**row, "client_ms": 9 - n, "visitor": "w"} for n, row in enumerate(rows)]
    export.write_text("".join(json.dumps(row) + "\n" for row in rows))
    store = EventStore(tmp_path / "events.sqlite")
    for site in ("brand", "another-name"):
        ingest(store, site, [], [export])
    store.close()
    brand = page_views(tmp_path / "events.sqlite", "brand")
    assert brand == page_views(tmp_path / "events.sqlite", "another-name")
    assert [view[3] for view in brand if view[0] == "w"] == [f"/p{n}/" for n in range(7, -1, -1)]


def test_training_straight_from_views_equals_training_from_sessions() -> None:
    """The build's shortcut (`training_of_views`) makes the same sessions as sessionising
    and then preparing them: visitors with and without session ids, gaps over and under
    30 minutes, reloads, views in the same second, pages the index does not know."""
    import random

    from generator.recommend.models import ItemIndex, Training
    from generator.recommend.related import sessionise, training_of_views

    rng = random.Random(3)
    views = []
    for visitor in range(60):
        moment = 1780000000.0 + rng.randrange(5000)
        session = f"s{visitor}" if visitor % 3 else ""
        for _ in range(rng.randrange(1, 12)):
            moment += rng.choice([0, 0, 5, 60, 1700, 1900, 4000])
            views.append((f"v{visitor}", session, moment, rng.choice("abcdefgh"), ""))
    index = ItemIndex.of(sessionise(views))
    known = {page: row for page, row in index.position.items() if page != "h"}
    index = ItemIndex(index.items, known)

    def sessions_of(training: Training) -> list[tuple[float, tuple[int, ...]]]:
        found = []
        for number, start in enumerate(training.starts.tolist()):
            mask = training.session == number
            assert training.order[mask].tolist() == list(range(1, int(mask.sum()) + 1))
            found.append((start, tuple(training.items[mask].tolist())))
        return sorted(found)

    # "h" is unknown: both drop it after sessionising, so it still bridges gaps.
    expected = sessions_of(Training.of(sessionise(views), index))
    assert sessions_of(training_of_views(views, known)) == expected
    assert len(expected) > 60  # gaps did split visitors without session ids
