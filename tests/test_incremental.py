"""Incremental builds: after every kind of edit, the output equals a clean build byte for byte,
and only what depends on the edit is rendered again."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.pipeline.build import build
from generator.pipeline.options import BuildOptions, BuildReport
from tests.conftest import edit, tree

SITES = ("brand", "other", "region")


def run(project: Path, out: str = "build", clean: bool = False) -> BuildReport:
    return build(
        BuildOptions(root=project, build_dir=project / out, clean=clean, jobs=2, quiet=True)
    )


def rendered(report: BuildReport) -> dict[str, int]:
    return {site.name: site.rendered for site in report.sites}


def assert_equals_clean_build(project: Path) -> None:
    shutil.rmtree(project / "clean", ignore_errors=True)
    run(project, out="clean", clean=True)
    for site in SITES:
        assert tree(project / "build" / site) == tree(project / "clean" / site), site
        assert (project / f"build/.sitegen/sites/{site}/manifest.json").read_bytes() == (
            project / f"clean/.sitegen/sites/{site}/manifest.json"
        ).read_bytes()


def add_page(project: Path) -> None:
    (project / "content/articles/epsilon.md").write_text(
        "---\ntitle: Epsilon\ndate: 2026-02-01\ntags: [red]\n---\nEpsilon body.\n"
    )


def add_override(project: Path) -> None:
    (project / "sites/region/content/articles").mkdir(parents=True)
    (project / "sites/region/content/articles/alpha.md").write_text(
        "---\ntitle: Alpha in the North\ndate: 2026-01-01\ntags: [red]\n---\nNorthern alpha.\n"
    )


def add_section_template(project: Path) -> None:
    (project / "themes/fancy/templates/articles").mkdir(parents=True)
    (project / "themes/fancy/templates/articles/page.html").write_text(
        '{% extends "page.html" %}{% block title %}Article: {{ page.title }}{% endblock %}\n'
    )


EDITS: list[tuple[str, Callable[[Path], None]]] = [
    (
        "page body",
        lambda p: edit(
            p / "content/articles/alpha.md", "Alpha body text.", "Alpha body, rewritten."
        ),
    ),
    (
        "front matter title",
        lambda p: edit(p / "content/articles/alpha.md", "title: Alpha", "title: Alpha Prime"),
    ),
    (
        "tag change",
        lambda p: edit(p / "content/articles/alpha.md", "tags: [red, blue]", "tags: [red, green]"),
    ),
    (
        "template",
        lambda p: edit(
            p / "themes/plain/templates/page.html", "<article>", '<article class="post">'
        ),
    ),
    (
        "partial",
        lambda p: edit(
            p / "themes/plain/templates/partials/footer.html", "<footer>", '<footer class="site">'
        ),
    ),
    (
        "config value",
        lambda p: edit(p / "sites/root/site.yaml", "footer: Root footer", "footer: New footer"),
    ),
    ("sass partial", lambda p: edit(p / "themes/plain/scss/_vars.scss", "#222", "#333")),
    (
        "child theme sass partial",
        lambda p: edit(p / "themes/fancy/scss/_vars.scss", "#803", "#804"),
    ),
    ("data file", lambda p: edit(p / "sites/brand/data/team.yaml", "- Grace", "- Grace\n- Linus")),
    ("add page", add_page),
    ("delete page", lambda p: (p / "content/articles/gamma.md").unlink()),
    ("override added", add_override),
    ("override removed", lambda p: (p / "sites/brand/content/articles/beta.md").unlink()),
    ("template now found", add_section_template),
    (
        "site template override removed",
        lambda p: (p / "sites/brand/templates/partials/footer.html").unlink(),
    ),
    (
        "gate change",
        lambda p: edit(p / "sites/brand/site.yaml", 'exclude: ["deep/**"]', "exclude: []"),
    ),
    ("static file", lambda p: _write(p / "themes/plain/static/favicon.txt", "icon 2\n")),
]


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def test_every_kind_of_edit_matches_a_clean_build(project: Path) -> None:
    run(project)
    assert rendered(run(project)) == {site: 0 for site in SITES}  # no-op renders nothing
    for name, apply in EDITS:
        apply(project)
        report = run(project)
        assert sum(rendered(report).values()) > 0, f"{name}: nothing was re-rendered"
        assert_equals_clean_build(project)
        assert rendered(run(project)) == {site: 0 for site in SITES}, f"{name}: not settled"


def test_editing_one_page_renders_that_page_and_the_listings_that_show_it(project: Path) -> None:
    run(project)
    # `other` publishes nested.md; only `other` should re-render, and only what shows it.
    edit(project / "content/articles/deep/nested.md", "title: Nested", "title: Nested Two")
    report = run(project)
    counts = rendered(report)
    assert counts["brand"] == 0 and counts["region"] == 0
    # the page itself, the section listing page and the tag page that list it, the feed,
    # and the recommendation files of the pages that recommend it; not the other pages, not
    # the home page (nested.md is too old to be on it)
    assert 3 <= counts["other"] <= 10, counts
    assert_equals_clean_build(project)


def test_body_edit_does_not_rerender_pages_that_only_show_the_title(project: Path) -> None:
    (project / "content/articles/alpha.md").write_text(
        "---\ntitle: Alpha\ndate: 2026-01-01\ntags: [red, blue]\nsummary: Fixed.\n---\nOld.\n"
    )
    run(project)
    edit(project / "content/articles/alpha.md", "Old.", "New.")
    counts = rendered(run(project))
    # the page itself and the feed (fixed summary: no listing shows the body)
    assert counts == {"brand": 2, "other": 2, "region": 2}, counts
    assert_equals_clean_build(project)


def test_clean_flag_renders_everything(project: Path) -> None:
    first = run(project)
    again = run(project, clean=True)
    assert rendered(again) == {s.name: s.rendered for s in first.sites}


@pytest.mark.parametrize("jobs", [1, 2])
def test_job_counts_give_identical_output(project: Path, jobs: int) -> None:
    build(BuildOptions(root=project, build_dir=project / "a", jobs=jobs, quiet=True))
    build(BuildOptions(root=project, build_dir=project / "b", jobs=1, quiet=True))
    for site in SITES:
        assert tree(project / "a" / site) == tree(project / "b" / site)


def test_a_tampered_output_file_is_rendered_again(project: Path) -> None:
    run(project)
    page = project / "build/brand/articles/alpha/index.html"
    original = page.read_bytes()
    page.write_bytes(b"tampered")
    report = run(project)
    assert rendered(report)["brand"] == 1
    assert page.read_bytes() == original


def test_a_deleted_output_file_is_restored(project: Path) -> None:
    run(project)
    page = project / "build/region/articles/alpha/index.html"
    original = page.read_bytes()
    page.unlink()
    assert rendered(run(project))["region"] == 1
    assert page.read_bytes() == original


def test_touching_a_file_without_changing_it_renders_nothing(project: Path) -> None:
    run(project)
    source = project / "content/articles/alpha.md"
    source.write_bytes(source.read_bytes())  # new mtime, same bytes
    assert rendered(run(project)) == {site: 0 for site in SITES}


def test_switching_environment_and_drafts_matches_clean_builds(project: Path) -> None:
    def build_with(out: str, clean: bool, **options: Any) -> None:
        build(
            BuildOptions(
                root=project, build_dir=project / out, clean=clean, jobs=2, quiet=True, **options
            )
        )

    build_with("build", False)
    for options in ({"environment": "staging"}, {"drafts": True}, {}):
        build_with("build", False, **options)
        shutil.rmtree(project / "clean", ignore_errors=True)
        build_with("clean", True, **options)
        for site in SITES:
            assert tree(project / "build" / site) == tree(project / "clean" / site), options
