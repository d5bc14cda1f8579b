"""Errors a user can cause: exit 1, `file:line:` and the expectation, output untouched."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, edit, tree


def _malformed_site_yaml(project: Path) -> None:
    edit(project / "sites/brand/site.yaml", "title: Brand", "title: [Brand")


def _malformed_front_matter(project: Path) -> None:
    edit(project / "content/articles/alpha.md", "tags: [red, blue]", "tags: [red, blue")


def _unknown_key(project: Path) -> None:
    edit(project / "sites/brand/site.yaml", "title: Brand", "title: Brand\ndescripton: x")


def _missing_template(project: Path) -> None:
    edit(project / "content/articles/alpha.md", "title: Alpha", "title: Alpha\ntemplate: wide.html")


def _gate_missing_pool(project: Path) -> None:
    edit(project / "sites/brand/site.yaml", "  articles:", "  recipes: {}\n  articles:")


def _extends_cycle(project: Path) -> None:
    edit(project / "sites/root/site.yaml", "abstract: true", "abstract: true\nextends: brand")


def _two_pages_one_url(project: Path) -> None:
    edit(project / "content/articles/gamma.md", "slug: gamma-ray", "slug: alpha")


def _slug_leaves_root(project: Path) -> None:
    edit(project / "content/articles/beta.md", "title: Beta", "title: Beta\nslug: ../../etc")


def _override_leaves_root(project: Path) -> None:
    outside = project.parent / "outside.md"
    outside.write_text("---\ntitle: Outside\n---\nnot ours\n")
    os.symlink(outside, project / "sites/brand/content/articles/alpha.md")


def _case_collision(project: Path) -> None:
    edit(project / "content/articles/gamma.md", "slug: gamma-ray", "slug: Alpha")


def _folder_case_collision(project: Path) -> None:
    (project / "sites/brand/content/Articles").mkdir(parents=True)
    (project / "sites/brand/content/Articles/extra.md").write_text("---\ntitle: X\n---\nx\n")


def _invalid_sass(project: Path) -> None:
    edit(project / "themes/plain/scss/main.scss", "color: $ink;", "color: $undefined-ink;")


def _template_syntax(project: Path) -> None:
    edit(
        project / "themes/plain/templates/page.html",
        "{{ page.title }}</h1>",
        "{{ page.title }</h1>",
    )


def _missing_theme(project: Path) -> None:
    edit(project / "sites/other/site.yaml", "title: Other", "title: Other\ntheme: nope")


def _line_break_in_a_file_name(project: Path) -> None:
    (project / "themes/plain/static/bad\r\nname.txt").write_text("x")


def _goal_page_missing(project: Path) -> None:
    edit(project / "sites/root/site.yaml", "      - page: /articles/", "      - page: /articels/")


CASES = [
    (_malformed_site_yaml, r"sites/brand/site.yaml:\d+: malformed YAML"),
    (_malformed_front_matter, r"content/articles/alpha.md:\d+: front matter: malformed YAML"),
    (
        _unknown_key,
        r"sites/brand/site.yaml:3: descripton: unknown key \(did you mean "
        r"'description'\?\)",
    ),
    (_missing_template, r"content/articles/alpha.md:3: template 'wide.html' not found"),
    (_gate_missing_pool, r"sites/brand/site.yaml:6: pools: pool 'recipes' does not exist"),
    (_extends_cycle, r"sites/root/site.yaml:2: extends: cycle in site inheritance"),
    (
        _two_pages_one_url,
        r"content/articles/gamma.md:5: two pages map to the URL "
        r"/articles/alpha/: this one and content/articles/alpha.md",
    ),
    (
        _slug_leaves_root,
        r"content/articles/beta.md:3: slug '../../etc' would leave the "
        r"output root",
    ),
    (
        _override_leaves_root,
        r"sites/brand/content/articles/alpha.md: override would leave "
        r"its folder",
    ),
    (_case_collision, r"differ only by letter case"),
    (
        _folder_case_collision,
        r"\.md: folder '[Aa]rticles/' and '[Aa]rticles/' \(of "
        r"[\w/]+\.md\) differ only by letter case",
    ),
    (_invalid_sass, r"themes/plain/scss/main.scss:2: Sass: Undefined variable"),
    (_template_syntax, r"themes/plain/templates/page.html:3: template syntax error"),
    (_missing_theme, r"sites/other/site.yaml:3: theme: theme 'nope' does not exist"),
    (
        _goal_page_missing,
        r"sites/root/site.yaml:\d+: experiments.hero-test.goals\[0\]: page '/articels/' is "
        r"not a page of site '\w+' \(did you mean '/articles/'\?\)",
    ),
    (
        _line_break_in_a_file_name,
        r"themes/plain/static/bad\\r\\nname.txt: output path "
        r"'bad\\r\\nname.txt' holds a control character",
    ),
]


@pytest.mark.parametrize(
    ("break_it", "expected"), CASES, ids=[case[0].__name__.strip("_") for case in CASES]
)
def test_error_exits_1_names_the_place_and_leaves_output_untouched(
    project: Path, sitegen: Callable[..., Result], break_it: Callable[[Path], None], expected: str
) -> None:
    assert sitegen(project, "build").code == 0
    before = published_and_state(project / "build")
    break_it(project)
    result = sitegen(project, "build")
    assert result.code == 1
    assert "Traceback" not in result.err
    import re

    message = result.err.strip().splitlines()[-1]  # progress lines may come before it
    assert re.search(expected, message), result.err
    assert published_and_state(project / "build") == before


@pytest.mark.parametrize(
    ("break_it", "expected"), CASES, ids=[case[0].__name__.strip("_") for case in CASES]
)
def test_a_real_process_prints_the_error_without_a_traceback(
    project: Path, break_it: Callable[[Path], None], expected: str
) -> None:
    """The same errors from `sitegen` run as a process (in-process, an escaping exception
    would fail the test before any "no traceback" check could)."""
    import re
    import subprocess
    import sys

    break_it(project)
    result = subprocess.run(
        [sys.executable, "-m", "generator.cli", "--root", str(project), "build", "--jobs", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert re.search(expected, result.stderr.strip().splitlines()[-1]), result.stderr


def test_error_in_a_worker_process_is_reported_the_same_way(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    for number in range(60):
        (project / f"content/news/item-{number:02}.md").write_text(
            f"---\ntitle: Item {number}\ndate: 2025-01-{number % 28 + 1:02}\n---\nText {number}.\n"
        )
    assert sitegen(project, "build", "--jobs", "2").code == 0
    before = published_and_state(project / "build")
    (project / "content/news/item-07.md").write_text(
        "---\ntitle: Item 7\ntemplate: missing.html\n---\nText.\n"
    )
    result = sitegen(project, "build", "--jobs", "2")
    assert result.code == 1
    assert "content/news/item-07.md:3: template 'missing.html' not found" in result.err
    assert published_and_state(project / "build") == before
    assert not list((project / "build/.sitegen/staging").glob("*/*"))  # staging cleaned up


def test_duplicate_front_matter_key_is_refused(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    edit(project / "content/articles/alpha.md", "title: Alpha", "title: Alpha\ntitle: Beta")
    result = sitegen(project, "build")
    assert result.code == 1
    assert "content/articles/alpha.md:3: front matter: duplicate key 'title'" in result.err


def published_and_state(build: Path) -> dict[str, bytes]:
    """The build folder but its content-addressed cache, which a failed build may add
    entries to (results of pure functions, keyed by their inputs: never wrong, never
    published)."""
    return {
        path: data for path, data in tree(build).items() if not path.startswith(".sitegen/cache/")
    }


@pytest.mark.parametrize(
    "arguments",
    [
        ["build", "--jobs", "-1"],
        ["build", "--no-such-option"],
        ["analytics", "simulate", "brand", "--visitors", "0"],
        ["analytics", "ingest", "brand"],
        ["recommend", "eval", "--k", "0"],
        ["recommend", "eval"],
    ],
)
def test_usage_errors_exit_2_without_a_traceback(project: Path, arguments: list[str]) -> None:
    """As docs/guide.md promises: bad command-line usage exits 2 (the project's own errors
    exit 1). Run as a real process, so a traceback would show."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "generator.cli", "--root", str(project), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "usage: sitegen" in result.stderr and "Traceback" not in result.stderr
