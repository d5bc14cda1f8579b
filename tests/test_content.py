"""Pools, gates, overrides, site-only pages, drafts and URLs, as built files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import Result


def built(project: Path, site: str) -> set[str]:
    root = project / "build" / site
    return {str(p.relative_to(root)) for p in root.rglob("*.html")}


def test_gates_overrides_and_site_pages(project: Path, sitegen: Callable[..., Result]) -> None:
    assert sitegen(project, "build").code == 0
    brand = built(project, "brand")
    assert "articles/alpha/index.html" in brand
    assert "articles/gamma-ray/index.html" in brand  # slug replaces the file name
    assert "articles/deep/nested/index.html" not in brand  # brand's exclude glob
    assert "articles/only-other/index.html" not in brand  # front matter sites: [other]
    assert "articles/delta/index.html" not in brand  # draft
    assert "about/index.html" in brand  # site-only page
    beta = (project / "build/brand/articles/beta/index.html").read_text()
    assert "Brand's own beta." in beta  # the override's text

    region = built(project, "region")
    assert "about/index.html" not in region  # site-only: not inherited
    assert "Brand's own beta" in (project / "build/region/articles/beta/index.html").read_text()
    assert "news/hello/index.html" not in region  # not_sites: [region]
    assert "news/hello/index.html" in brand

    other = built(project, "other")
    assert "stories/alpha/index.html" in other  # mount and tag gate
    assert "stories/deep/nested/index.html" in other
    assert "stories/only-other/index.html" in other
    assert "stories/beta/index.html" not in other  # tagged blue only
    listing = (project / "build/brand/articles/index.html").read_text()
    assert "Beta for Brand" in listing and ">Beta<" not in listing  # listings see overrides


def test_drafts_only_with_flag(project: Path, sitegen: Callable[..., Result]) -> None:
    assert sitegen(project, "build", "--drafts").code == 0
    assert "articles/delta/index.html" in built(project, "brand")
    assert sitegen(project, "build").code == 0
    assert "articles/delta/index.html" not in built(project, "brand")


def test_listings_feed_sitemap_robots_and_404(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    assert sitegen(project, "build", "brand").code == 0
    site = project / "build/brand"
    section = (site / "articles/index.html").read_text()
    assert "Intro to the articles." in section  # index.md introduces the section
    assert 'rel="next" href="/articles/page/2/"' in section  # per_page: 2
    assert (site / "articles/page/2/index.html").exists()
    assert (site / "tags/blue/index.html").exists()
    assert "blue (2)" in (site / "tags/index.html").read_text()
    assert (site / "404.html").exists()
    feed = (site / "feed.xml").read_text()
    assert "<id>https://brand.test/articles/gamma-ray/</id>" in feed
    assert "<summary>Beta summary" not in feed  # brand overrides beta
    sitemap = (site / "sitemap.xml").read_text()
    assert "<loc>https://brand.test/articles/alpha/</loc><lastmod>2026-01-01</lastmod>" in sitemap
    assert (site / "robots.txt").read_text() == (
        "User-agent: *\nDisallow:\n\nSitemap: https://brand.test/sitemap.xml\n"
    )


def test_markdown_tables_and_heading_anchors(project: Path, sitegen: Callable[..., Result]) -> None:
    assert sitegen(project, "build", "brand").code == 0
    html = (project / "build/brand/articles/alpha/index.html").read_text()
    assert '<h2 id="a-heading">' in html
    assert "<table>" in html and "<td>1</td>" in html


def test_templates_are_autoescaped(project: Path, sitegen: Callable[..., Result]) -> None:
    page = project / "content/articles/alpha.md"
    page.write_text(page.read_text().replace("title: Alpha", 'title: "<script>x</script>"'))
    assert sitegen(project, "build", "brand").code == 0
    html = (project / "build/brand/articles/alpha/index.html").read_text()
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_site_template_override_and_data_file(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    assert sitegen(project, "build").code == 0
    assert "Team: Ada, Grace" in (project / "build/brand/index.html").read_text()
    assert "Team:" in (project / "build/region/index.html").read_text()  # inherited
    assert "Team:" not in (project / "build/other/index.html").read_text()
    region_home = (project / "build/region/index.html").read_text()
    assert '<header class="fancy">Region (North)' in region_home


def test_front_matter_environments_limit_a_page_to_those_environments(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    """`environments: [staging]` builds a page only with `--env staging` (a pool page and a
    site's own page alike); an environment the network does not know is an error naming
    the file and line, and nothing is built."""
    (project / "content/articles/preview.md").write_text(
        "---\ntitle: Preview\nenvironments: [staging]\n---\nNot yet.\n"
    )
    (project / "sites/brand/content/launch.md").write_text(
        "---\ntitle: Launch\nenvironments: [staging]\n---\nSoon.\n"
    )
    assert sitegen(project, "build", "brand").code == 0
    assert not (project / "build/brand/articles/preview/index.html").exists()
    assert not (project / "build/brand/launch/index.html").exists()
    assert sitegen(project, "build", "brand", "--env", "staging").code == 0
    assert (project / "build/brand/articles/preview/index.html").is_file()
    assert (project / "build/brand/launch/index.html").is_file()
    assert sitegen(project, "build", "brand").code == 0  # and back: gone again
    assert not (project / "build/brand/articles/preview/index.html").exists()
    (project / "content/articles/preview.md").write_text(
        "---\ntitle: Preview\nenvironments:\n  - stagign\n---\nNot yet.\n"
    )
    result = sitegen(project, "build", "brand")
    assert result.code == 1
    assert "content/articles/preview.md:3: front matter 'environments': unknown environment" in (
        result.err
    )
    assert "did you mean 'staging'" in result.err
    assert (project / "build/brand/articles/beta/index.html").is_file()  # previous output kept
