"""The repository's own demo network builds and shows the product's features."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from generator.config import load_network
from tests.conftest import Result

REPO = Path(__file__).resolve().parent.parent


def test_demo_network_shape() -> None:
    network = load_network(REPO)
    assert [s.name for s in network.buildable_sites()] == ["harbor", "trailhead", "trailhead-alps"]
    assert network.sites["northwind"].abstract
    assert network.sites["trailhead-alps"].lineage == ("trailhead-alps", "trailhead", "northwind")
    assert len(network.themes["trail"].directories) == 2  # trail extends base
    assert len(network.pools) >= 3
    pages = list((REPO / "content").rglob("*.md")) + list((REPO / "sites").rglob("*.md"))
    assert len(pages) >= 60
    for page in pages:
        assert "lorem" not in page.read_text().lower()


def test_demo_builds_with_gates_overrides_and_environments(
    tmp_path: Path, sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = sitegen(REPO, "build", "--out", str(tmp_path), "--env", "staging")
    assert result.code == 0, result.err
    assert "rendering:" in result.err  # plain progress lines in CI
    assert "built 3 site(s)" in result.out
    alps = (tmp_path / "trailhead-alps/guides/alpine/altitude/index.html").read_text()
    assert "Alpine huts sit between" in alps  # the regional override
    boots = (tmp_path / "trailhead-alps/guides/hiking/breaking-in-boots/index.html").read_text()
    assert "Trailhead leather boots" in boots  # inherited brand override
    assert (tmp_path / "harbor/seamanship/sailing/bowline/index.html").exists()  # mount
    assert not (tmp_path / "harbor/seamanship/hiking").exists()  # gate
    assert not (tmp_path / "trailhead/guides/sailing").exists()
    assert (tmp_path / "trailhead/news/trail-cleanup/index.html").exists()  # sites:
    assert not (tmp_path / "harbor/news/trail-cleanup").exists()
    assert not (tmp_path / "trailhead/news/lifejacket-service").exists()  # not_sites:
    assert not (tmp_path / "trailhead/news/draft-autumn-preview").exists()  # draft
    assert (
        (tmp_path / "trailhead/robots.txt").read_text().startswith("User-agent: *\nDisallow: /\n")
    )  # staging
    assert "https://staging.trailhead.example/" in (tmp_path / "trailhead/feed.xml").read_text()
    assert "Falmouth" in (tmp_path / "harbor/index.html").read_text()  # data file


def test_demo_has_people_and_a_members_only_section(
    tmp_path: Path, sitegen: Callable[..., Result]
) -> None:
    checked = sitegen(REPO, "users", "check")
    assert checked.code == 0, checked.err
    assert "users.yaml: 5 people" in checked.out
    shown = sitegen(REPO, "users", "who-can", "trailhead-alps", "deploy")
    assert [line.split()[0] for line in shown.out.splitlines()[2:]] == ["lena", "maria"]
    assert sitegen(REPO, "build", "trailhead", "--out", str(tmp_path)).code == 0
    site = tmp_path / "trailhead"
    rules = (site / "trade/spring-order-window/.htaccess").read_text()
    assert "Require user maria outdoorco\n" in rules
    for public in ("index.html", "sitemap.xml", "feed.xml", "tags/index.html"):
        assert "Spring order window" not in (site / public).read_text()
