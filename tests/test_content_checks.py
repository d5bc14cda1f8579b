"""What a build checks in pages: links to pages or files the site does not publish, images it
does not have, front-matter images; files without front matter become pages titled by
their first heading."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from generator.content.links import first_heading, internal_links
from generator.pipeline.checks import resolved_link
from tests.conftest import Result, edit, tree


def test_links_are_found_with_their_lines_outside_code() -> None:
    body = (
        'Intro [a](/a/) and ![pic](images/x.png "t").\n'  # line 10
        "```\n[not](/code/)\n```\n"
        "    [indented](/code2/)\n\n"
        '`[inline](/code3/)` [ref][r] <a href="../up/">up</a> [out](https://x.test/) [top](#top)\n'
        '\n[r]: /reference/\n<img src="/images/y.svg">\n[^1]: A footnote, not a link.\n'
    )
    assert internal_links(body, 10) == (
        ("/a/", 10, False),
        ("images/x.png", 10, True),
        ("../up/", 16, False),
        ("/reference/", 18, False),
        ("/images/y.svg", 19, True),
    )
    assert first_heading("```\n# not this\n```\nText\n## The *real* one ##\n") == "The real one"


@pytest.mark.parametrize(
    ("url", "target", "path"),
    [
        ("/a/b/", "c/", "/a/b/c/"),
        ("/a/b/", "../c?q=1#top", "/a/c"),
        ("/a/b/page.html", "img%20one.png", "/a/b/img one.png"),
        ("/a/b/", "/x/./y/", "/x/y/"),
        ("/a/b/", ".", "/a/b/"),
        ("/a/b/", "..", "/a/"),
        ("/", "../../x/", "/x/"),  # as a browser resolves it: never above the root
        ("/a/", "?page=2", ""),
    ],
)
def test_a_link_resolves_as_a_browser_resolves_it(url: str, target: str, path: str) -> None:
    page = SimpleNamespace(url=url)
    assert resolved_link(page, target) == path  # type: ignore[arg-type]


def test_a_broken_link_stops_the_build_and_names_the_line(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    assert sitegen(project, "build", "brand").code == 0
    before = tree(project / "build/brand")
    alpha = project / "content/articles/alpha.md"
    edit(
        alpha,
        "Alpha body text.",
        "Alpha body text, see [beta](/articles/bta/) and [g](../gamma-ray/).",
    )
    result = sitegen(project, "build", "brand")
    assert result.code == 1
    assert (
        "content/articles/alpha.md:6: link to '/articles/bta/': no page or file of the site is "
        "at /articles/bta/ (did you mean '/articles/beta/'" in result.err
    )
    assert "gamma-ray" not in result.err  # a relative link to a page that exists
    assert tree(project / "build/brand") == before  # nothing written

    # Cached front matter keeps the links too: deleting the target of an unchanged page's
    # link is found without reading that page again.
    edit(alpha, "[beta](/articles/bta/)", "[beta](/articles/beta/)")
    assert sitegen(project, "build", "brand").code == 0
    (project / "content/articles/beta.md").unlink()
    (project / "sites/brand/content/articles/beta.md").unlink()  # the brand's own beta
    result = sitegen(project, "build", "brand")
    assert result.code == 1 and "alpha.md:6: link to '/articles/beta/'" in result.err


def test_images_in_bodies_and_front_matter_name_close_matches(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    beta = project / "sites/brand/content/articles/beta.md"  # the brand's own beta
    edit(beta, "tags: [blue]", "tags: [blue]\nimage: images/logos.svg")
    edit(beta, "Brand's own beta.", "Brand's own beta.\n\n![the logo](/images/lgo.svg)")
    result = sitegen(project, "build", "brand")
    assert result.code == 1
    assert (
        "sites/brand/content/articles/beta.md:5: front matter 'image': 'images/logos.svg' is not "
        "an image of "
        "the site (did you mean 'images/logo.svg'?)" in result.err
    )
    assert "sites/brand/content/articles/beta.md:9: image '/images/lgo.svg' is not an" in result.err
    assert "logo.svg-" not in result.err  # never the list of every rendition

    # As warnings, the site builds and says so.
    site_yaml = project / "sites/brand/site.yaml"
    site_yaml.write_text(site_yaml.read_text() + "checks:\n  images: warning\n")
    result = sitegen(project, "build", "brand")
    assert result.code == 0, result.err
    assert "warning: sites/brand/content/articles/beta.md:5: front matter 'image'" in result.err
    page = (project / "build/brand/articles/beta/index.html").read_text()
    assert "/images/lgo.svg" in page  # published as written, like any broken image


def test_a_file_without_front_matter_is_a_page_titled_by_its_heading(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    (project / "content/articles/plain.md").write_text("# Plain notes\n\nNo front matter.\n")
    assert sitegen(project, "build", "brand").code == 0
    page = (project / "build/brand/articles/plain/index.html").read_text()
    assert "<title>Plain notes" in page and "No front matter." in page
