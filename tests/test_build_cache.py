"""The content-addressed build cache (Markdown, Sass, images) shared by every site, its
stats and gc, and `rebuild:` rules for dependencies nothing records."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, edit


def test_pool_pages_are_parsed_once_for_the_network(
    project: Path, sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    import generator.render.markdown as markdown

    # A text the fast engine hands over to markdown-it-py (an HTML comment), on every site.
    (project / "content/articles/commented.md").write_text(
        "---\ntitle: Commented\n---\nBefore <!-- a note --> after.\n"
    )
    # Either engine may render a text (render/fast_markdown.py): count both.
    parsed: list[str] = []
    slow: list[str] = []
    parser = markdown.markdown_parser(False)  # the fixture sites predate smart quotes
    real_render = parser.render
    from generator.render.fast_markdown import render_fast as real_fast

    def counting(text: str) -> str:
        parsed.append(text)
        slow.append(text)
        return str(real_render(text))

    def counting_fast(text: str, typographer: bool = True) -> str | None:
        found = real_fast(text, typographer)
        if found is not None:
            parsed.append(text)
        return found

    monkeypatch.setattr(parser, "render", counting)
    monkeypatch.setattr("generator.render.markdown.render_fast", counting_fast)
    monkeypatch.setattr(markdown, "_rendered", {})
    assert sitegen(project, "build", "--jobs", "1").code == 0  # brand, other, region
    assert len(parsed) == len(set(parsed))  # no text parsed twice
    shared = (project / "content/articles/alpha.md").read_text().split("---\n", 2)[2]
    assert parsed.count(shared) == 1  # on several sites, parsed once
    assert slow == ["Before <!-- a note --> after.\n"]
    # A clean build in a new process parses nothing with markdown-it-py: the disk cache
    # has its HTML. (The fast engine renders again: cheaper than a cache file.)
    slow.clear()
    monkeypatch.setattr(markdown, "_rendered", {})
    assert sitegen(project, "build", "--clean", "--jobs", "1").code == 0
    assert slow == []
    assert "<!-- a note -->" in (project / "build/brand/articles/commented/index.html").read_text()


def test_sass_is_compiled_once_per_theme(
    project: Path, sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.assets.sass import LibSassCompiler

    entries: list[str] = []
    real = LibSassCompiler.compile

    def counting(self: LibSassCompiler, entry: Path, *arguments: object) -> str:
        entries.append(str(entry.relative_to(project)))
        return real(self, entry, *arguments)  # type: ignore[arg-type]

    monkeypatch.setattr(LibSassCompiler, "compile", counting)
    assert sitegen(project, "build").code == 0
    # brand and region share the fancy theme (its _vars.scss over plain's main.scss);
    # other has the plain theme alone: two compilations for three sites.
    assert len(entries) == 2
    entries.clear()
    assert sitegen(project, "build", "--clean").code == 0
    assert entries == []
    edit(project / "themes/plain/scss/_vars.scss", ";", "; // changed")
    assert sitegen(project, "build").code == 0
    assert entries  # an import changed: again


def test_cache_stats_and_gc(project: Path, sitegen: Callable[..., Result]) -> None:
    # Only markdown-it-py's HTML is cached: texts with an HTML comment go to it.
    for page in (project / "content/articles").glob("*.md"):
        page.write_text(page.read_text() + "\n<!-- kept for the cache -->\n")
    assert sitegen(project, "build").code == 0
    stats = sitegen(project, "cache", "stats").out
    counts = {line.split()[0]: int(line.split()[1]) for line in stats.splitlines()}
    assert counts["markdown"] >= 3 and counts["sass"] >= 1  # the published articles
    edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, cached anew.")
    # Right after the first build, no pause: entries carry their build's stamp, set
    # explicitly, so two builds a millisecond apart still tell their entries apart.
    assert sitegen(project, "build", "--clean").code == 0
    removed = sitegen(project, "cache", "gc").out
    assert re.match(r"removed 1 entries \(\d+ bytes\)", removed), removed  # the old gamma
    again = {
        line.split()[0]: int(line.split()[1])
        for line in sitegen(project, "cache", "stats").out.splitlines()
    }
    assert again["markdown"] == counts["markdown"]
    assert sitegen(project, "cache", "gc").out.startswith("removed 0 entries")


def test_rebuild_rules(project: Path, sitegen: Callable[..., Result]) -> None:
    (project / "data").mkdir()
    prices = project / "data/prices.yaml"
    prices.write_text("alpha: 10\n")
    edit(
        project / "sites/brand/site.yaml",
        "menu+:",
        "rebuild:\n  - when: [data/prices.yaml]\n    then: [articles/alpha/]\nmenu+:",
    )
    assert sitegen(project, "build", "brand").code == 0
    page = project / "build/brand/articles/alpha/index.html"
    other = project / "build/brand/articles/beta/index.html"
    before = (page.stat().st_ino, other.stat().st_ino)
    prices.write_text("alpha: 12\n")
    rebuilt = sitegen(project, "build", "brand")
    assert rebuilt.code == 0 and "1 rendered" in rebuilt.out, rebuilt.out
    # Same bytes: the published file is left as it was, not replaced by a copy.
    assert (page.stat().st_ino, other.stat().st_ino) == before
    edit(project / "sites/brand/site.yaml", "when: [data/prices.yaml]", "when: [prices.yaml]")
    wrong = sitegen(project, "build", "brand")
    assert wrong.code == 1 and "site.yaml:9: rebuild[0].when[0]" in wrong.err
    assert "a glob under sites/, content/, themes/ or data/" in wrong.err


def test_gc_keeps_what_the_last_full_build_used_of_every_kind(tmp_path: Path) -> None:
    """File and folder entries alike carry the stamp of the last build that used them;
    gc removes those stamped before the last full build, whatever the clock did."""
    from generator.cache import ContentCache

    first = ContentCache(tmp_path, stamp=1_000)
    first.put("markdown", "aa11", b"<p>old</p>")
    first.put("markdown", "bb22", b"<p>kept</p>")
    first.put_folder("images", "cc33", {"320.webp": b"w", "set.json": b"{}"})
    first.put_folder("images", "dd44", {"320.webp": b"x", "set.json": b"{}"})
    first.mark_build()
    second = ContentCache(tmp_path, stamp=1_001)  # one nanosecond later
    assert second.get("markdown", "bb22") == b"<p>kept</p>"
    folder = second.get_folder("images", "cc33")
    assert folder is not None and (folder / "320.webp").read_bytes() == b"w"
    second.mark_build()
    assert ContentCache(tmp_path).gc() == (2, len(b"<p>old</p>") + len(b"x{}"))
    reader = ContentCache(tmp_path)  # no stamp: reading marks nothing
    assert reader.get("markdown", "aa11") is None and reader.get_folder("images", "dd44") is None
    assert reader.get("markdown", "bb22") is not None
    assert reader.gc() == (0, 0)
