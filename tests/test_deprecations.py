"""Deprecated front-matter keys, template functions and command-line flags: each use warns
with its file and line and still works as its replacement; `--strict` and
`SITEGEN_DEPRECATIONS=error` make every use an error (issue 14). No name of these kinds is
deprecated yet, so the tests register their own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from generator import deprecations
from generator.deprecations import Deprecation
from tests.conftest import Result, edit


def test_a_deprecated_front_matter_key_reads_as_its_replacement(
    project: Path, sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        deprecations.FRONT_MATTER_KEYS,
        "teaser",
        Deprecation("front-matter key", "teaser", "summary", "0.2.0", "1.0.0"),
    )
    page = project / "content/articles/alpha.md"
    page.write_text(page.read_text().replace("---\n", "---\nteaser: The alpha teaser.\n", 1))
    built = sitegen(project, "build", "brand")
    assert built.code == 0, built.err
    warning = (
        "content/articles/alpha.md:2: front-matter key 'teaser' is deprecated since sitegen "
        "0.2.0 and goes in 1.0.0; use 'summary'"
    )
    assert warning in built.err
    assert "The alpha teaser." in (project / "build/brand/articles/page/2/index.html").read_text()
    # The parsed front matter is cached: a later build with work still warns.
    edit(project / "content/articles/beta.md", "\n---\n", "\n---\nEdited.\n")
    again = sitegen(project, "build", "brand")
    assert again.code == 0 and warning in again.err
    strict = sitegen(project, "build", "brand", "--strict")
    assert strict.code == 1 and "1 use(s) of deprecated names" in strict.err
    assert warning in strict.err


def test_a_deprecated_template_function_works_and_names_its_line(
    project: Path, sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        deprecations.TEMPLATE_FUNCTIONS,
        "site_url",
        Deprecation("template function", "site_url", "absolute_url", "0.2.0", "1.0.0"),
    )
    footer = project / "themes/plain/templates/partials/footer.html"
    footer.write_text(footer.read_text() + "\n<a href=\"{{ site_url('/about/') }}\">About</a>\n")
    built = sitegen(project, "build", "other")
    assert built.code == 0, built.err
    assert (
        "themes/plain/templates/partials/footer.html:3: template function 'site_url' is "
        "deprecated since sitegen 0.2.0 and goes in 1.0.0; use 'absolute_url'"
    ) in built.err
    assert 'href="https://other.test/about/"' in (project / "build/other/index.html").read_text()
    strict = sitegen(project, "build", "other", "--strict")
    assert strict.code == 1 and "footer.html:3: template function 'site_url'" in strict.err


def test_a_deprecated_flag_means_its_replacement(
    project: Path, sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        deprecations.FLAGS,
        "--output",
        Deprecation("command-line flag", "--output", "--out", "0.2.0", "1.0.0"),
    )
    out = project / "elsewhere"
    built = sitegen(project, "build", "brand", f"--output={out}")
    assert built.code == 0, built.err
    assert (
        "warning: command line: command-line flag '--output' is deprecated since sitegen "
        "0.2.0 and goes in 1.0.0; use '--out'"
    ) in built.err
    assert (out / "brand/index.html").is_file()
    monkeypatch.setenv("SITEGEN_DEPRECATIONS", "error")
    refused = sitegen(project, "build", "brand", "--output", str(out))
    assert refused.code == 1 and "error: command line: command-line flag '--output'" in (
        refused.err
    )


def test_migrate_renames_deprecated_front_matter_keys_and_template_calls(
    project: Path, sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        deprecations.FRONT_MATTER_KEYS,
        "teaser",
        Deprecation("front-matter key", "teaser", "summary", "0.2.0", "1.0.0"),
    )
    monkeypatch.setitem(
        deprecations.TEMPLATE_FUNCTIONS,
        "site_url",
        Deprecation("template function", "site_url", "absolute_url", "0.2.0", "1.0.0"),
    )
    page = project / "content/articles/alpha.md"
    page.write_text(
        page.read_text().replace("---\n", "---\nteaser:   'The alpha teaser.'  # short\n", 1)
    )
    footer = project / "themes/plain/templates/partials/footer.html"
    footer.write_text(
        footer.read_text()
        + "\n<a href=\"{{ site_url('/about/') }}\">site_url(x)</a>"
        + " {% set my = {'site_url': absolute_url} %}{{ my.site_url('/') }}\n"
        + "{{ site_url ('/a/') ~ site_url('/b/') }}\n"
    )
    before = {path: path.read_text() for path in (page, footer)}
    # The line names it once outside a call: migrate will not guess.
    refused = sitegen(project, "migrate")
    assert refused.code == 1
    assert "themes/plain/templates/partials/footer.html:3: template function 'site_url'" in (
        refused.err
    )
    assert {path: path.read_text() for path in before} == before  # nothing written
    footer.write_text(before[footer].replace(">site_url(x)<", ">About<"))
    dry = sitegen(project, "migrate", "--dry-run")
    assert dry.code == 0, dry.err
    assert "-teaser:   'The alpha teaser.'  # short\n+summary:   'The alpha teaser.'  # short" in (
        dry.out
    )
    assert page.read_text() == before[page]
    migrated = sitegen(project, "migrate")
    assert migrated.code == 0, migrated.err
    assert "line 2: front-matter key 'teaser' is deprecated, renamed 'summary'" in migrated.out
    assert page.read_text() == before[page].replace("teaser:", "summary:")
    assert footer.read_text() == (
        before[footer]
        .replace(">site_url(x)<", ">About<")
        .replace("{{ site_url(", "{{ absolute_url(")
        .replace("{{ site_url (", "{{ absolute_url (")
        .replace("~ site_url(", "~ absolute_url(")
    )
    assert "my.site_url('/')" in footer.read_text()  # an attribute, not the function
    assert sitegen(project, "migrate").out.startswith("nothing to migrate")
    built = sitegen(project, "build", "other", "--strict")
    assert built.code == 0, built.err


def test_migrate_refuses_a_deprecated_key_set_with_its_replacement(
    project: Path, sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        deprecations.FRONT_MATTER_KEYS,
        "teaser",
        Deprecation("front-matter key", "teaser", "summary", "0.2.0", "1.0.0"),
    )
    page = project / "content/articles/alpha.md"
    before = page.read_text().replace("---\n", "---\nsummary: One.\nteaser: Two.\n", 1)
    page.write_text(before)
    refused = sitegen(project, "migrate")
    assert refused.code == 1
    assert (
        "content/articles/alpha.md:3: front matter 'teaser': deprecated, and 'summary' is set too"
    ) in refused.err
    assert page.read_text() == before
