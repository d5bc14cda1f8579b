"""The demo network's staging overlay (Trailhead's `huts/` section and its
`care-workshop-cta` experiment exist only in staging): env diff lists exactly them,
promoting the section gives the next production build that section and nothing else new,
and a promotion that would leave a linked page behind is refused with the page named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, demo_copy, tree

SECTION = ("huts/index.md", "huts/booking-a-bunk.md", "huts/packing-for-a-hut-trek.md")


def test_staging_only_section_and_experiment_of_the_demo(
    tmp_path: Path, sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = demo_copy(tmp_path / "demo")
    monkeypatch.setenv("SITEGEN_USER", "maria")  # users.yaml: admin of the whole network
    diff = ("env", "diff", "trailhead", "--from", "staging", "--to", "production")
    result = sitegen(project, *diff, "--no-output")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert (
        lines[0]
        == "trailhead: staging -> production: 3 pages, 1 experiment, 2 config values differ"
    )
    assert lines[lines.index("content:") + 1 :] == [
        "  page site:huts/booking-a-bunk: only in staging",
        "  page site:huts/index: only in staging",
        "  page site:huts/packing-for-a-hut-trek: only in staging",
        "  experiment care-workshop-cta: only in staging",
    ]

    promote = ("promote", "trailhead", "--from", "staging", "--to", "production")
    sources = tree(project)
    alone = sitegen(project, *promote, "--pages", "huts/packing-for-a-hut-trek")
    assert alone.code == 1
    assert (
        "sites/trailhead/content/huts/packing-for-a-hut-trek.md links to /huts/booking-a-bunk/, "
        "the page site:huts/booking-a-bunk, which is not promoted" in alone.err
    )
    # Tom publishes Trailhead on staging only: promoting into production needs his intent.
    monkeypatch.setenv("SITEGEN_USER", "tom")
    tom = sitegen(project, *promote, "--pages", "huts/**")
    assert tom.code == 1 and "--without-publish-permission" in tom.err
    assert tree(project) == sources
    monkeypatch.setenv("SITEGEN_USER", "maria")

    assert sitegen(project, "build", "trailhead").code == 0
    before = tree(project / "build/trailhead")
    done = sitegen(project, *promote, "--pages", "huts/**")
    assert done.code == 0, done.err
    content = project / "sites/trailhead/content"
    edited = {
        path
        for path, data in tree(project).items()
        if sources.get(path) != data and not path.startswith("build/")
    }
    assert edited == {f"sites/trailhead/content/{name}" for name in SECTION}
    for name in SECTION:  # only the `environments:` line changed, its comment kept
        old = sources[f"sites/trailhead/content/{name}"].decode().splitlines()
        lines = (content / name).read_text().splitlines()
        changed = [(a, b) for a, b in zip(old, lines, strict=True) if a != b]
        assert len(changed) == 1 and changed[0][0].startswith("environments: [staging]")
        assert changed[0][1] == changed[0][0].replace("[staging]", "[staging, production]")

    assert sitegen(project, "build", "trailhead").code == 0
    after = tree(project / "build/trailhead")
    new = set(after) - set(before)
    pages = {path for path in new if path.endswith(".html")}
    assert pages == {
        "huts/index.html",
        "huts/booking-a-bunk/index.html",
        "huts/packing-for-a-hut-trek/index.html",
    }
    # What else is new belongs to those pages: their related-content lists and the search
    # index's content-addressed files. No variant of the experiment left in staging.
    rest = new - pages
    assert all(p.startswith(("_sg/rec/huts/", "pagefind/")) for p in rest), sorted(rest)
    assert not any("care-workshop" in path for path in after)
    assert b"Hut to hut" in after["huts/index.html"]
