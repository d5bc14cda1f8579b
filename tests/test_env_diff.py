"""`sitegen env diff`: config, content and built output that differ between two
environments of a site, each listed only where they differ; bad input refused."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, edit, tree

STAGING_ONLY = """
  staging:
    base_url: https://staging.brand.test/
    experiments:
      hero-staging:
        arms: {control: 0.5, bold: 0.5}
        slot: hero
        pages: ["/"]
        status: running
        goals:
          - id: read-about
            page: /about/
"""


def staging_overlay(project: Path) -> None:
    """An experiment and a section (two pages) that only staging has."""
    site = project / "sites/brand/site.yaml"
    text = site.read_text()
    site.write_text(
        text.replace("\n  staging:\n    base_url: https://staging.brand.test/\n", STAGING_ONLY)
    )
    for name in ("one", "two"):
        (project / f"content/articles/preview-{name}.md").write_text(
            f"---\ntitle: Preview {name}\nenvironments: [staging]\n---\nSoon.\n"
        )


def test_env_diff_lists_exactly_what_differs(project: Path, sitegen: Callable[..., Result]) -> None:
    staging_overlay(project)
    before = sorted(path.name for path in project.iterdir())
    result = sitegen(project, "env", "diff", "brand", "--from", "staging", "--to", "production")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == (
        "brand: staging -> production: 2 pages, 1 experiment, 2 config values, "
        f"{lines[0].split(', ')[-1]}"
    )
    config = lines[lines.index("config:") + 1 : lines.index("content:")]
    assert len(config) == 2 and config[0].startswith(
        '  base_url: "https://staging.brand.test/" (sites/brand/site.yaml:13) -> '
    )
    assert config[0].endswith('"https://brand.test/" (sites/brand/site.yaml:3)')
    # Staging keeps crawlers out by default: a value the schema set on one side.
    assert config[1].startswith('  robots.disallow: ["/"] (') and config[1].endswith("(default)")
    content = lines[lines.index("content:") + 1 : lines.index("output:")]
    assert content == [
        "  page articles/preview-one: only in staging",
        "  page articles/preview-two: only in staging",
        "  experiment hero-staging: only in staging",
    ]
    output = result.out[result.out.index("output:") :]
    assert "articles/preview-one/index.html: only in staging" in output
    assert "articles/page/3/index.html: only in staging" in output  # the listing grew
    assert "  page: 15 differs, 3 only in staging\n" in output  # staging's base_url
    assert "    .htaccess: differs (" in output  # the experiment's routing
    document = json.loads(
        sitegen(
            project, "env", "diff", "brand", "--from", "staging", "--to", "production", "--json"
        ).out
    )
    assert document["summary"] == lines[0]
    kinds = {(file["path"], file["kind"], file["change"]) for file in document["output"]}
    assert ("articles/preview-two/index.html", "page", "only in staging") in kinds
    # The user's build folder is not touched: the builds went to a temporary folder.
    assert sorted(path.name for path in project.iterdir()) == before


def test_env_diff_of_identical_environments_and_bad_input(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    same = sitegen(project, "env", "diff", "other", "--from", "development", "--to", "production")
    assert same.code == 0, same.err
    assert same.out == "other: development -> production: nothing differs\n"
    unknown = sitegen(project, "env", "diff", "brand", "--from", "stagin", "--to", "production")
    assert unknown.code == 1 and "unknown environment 'stagin'" in unknown.err
    assert "did you mean 'staging'" in unknown.err
    site = sitegen(project, "env", "diff", "brnd", "--from", "staging", "--to", "production")
    assert site.code == 1 and "no buildable site 'brnd'" in site.err
    itself = sitegen(project, "env", "diff", "brand", "--from", "staging", "--to", "staging")
    assert itself.code == 2 and "both 'staging'" in itself.err


def test_promote_moves_exactly_the_selection_and_edits_only_those_lines(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    staging_overlay(project)
    one = project / "content/articles/preview-one.md"
    one.write_text(
        "---\ntitle: Preview one\nenvironments:\n  - staging   # not yet\n---\n"
        "See [the other](/articles/preview-two/).\n"
    )
    sources = {path: path.read_bytes() for path in project.rglob("*") if path.is_file()}
    args = ("promote", "brand", "--from", "staging", "--to", "production")
    # preview-one links to preview-two, which would stay behind: refused, nothing written.
    refused = sitegen(project, *args, "--pages", "articles/preview-one")
    assert refused.code == 1
    assert "preview-one.md links to /articles/preview-two/, the page articles/preview-two" in (
        refused.err
    )
    dry = sitegen(project, *args, "--pages", "/articles/preview-*/", "--dry-run")
    assert dry.code == 0, dry.err
    assert "+  - production\n" in dry.out and "dry run: nothing written" in dry.out
    assert "articles/preview-one/index.html: only in promoted" in dry.out
    assert {path: path.read_bytes() for path in sources} == sources
    done = sitegen(project, *args, "--pages", "articles/preview-*", "--experiments", "hero-staging")
    assert done.code == 0, done.err
    changed = {path for path in sources if path.read_bytes() != sources[path]}
    assert changed == {
        one,
        project / "content/articles/preview-two.md",
        project / "sites/brand/site.yaml",
    }
    assert one.read_text() == (
        "---\ntitle: Preview one\nenvironments:\n  - staging   # not yet\n  - production\n---\n"
        "See [the other](/articles/preview-two/).\n"
    )
    site = (project / "sites/brand/site.yaml").read_text()
    assert "experiments:\n  hero-staging:\n    arms: {control: 0.5, bold: 0.5}\n" in site
    assert "    experiments:" not in site  # gone from the staging overlay
    # Untouched lines stay byte for byte: the file minus the moved block is the original
    # minus the overlay's lines.
    original = sources[project / "sites/brand/site.yaml"].decode()
    kept = [line for line in original.splitlines() if line not in STAGING_ONLY.splitlines()]
    assert all(line in site.splitlines() for line in kept)
    # Production now has them; nothing differs from staging but the environments' own config.
    after = sitegen(
        project, "env", "diff", "brand", "--from", "staging", "--to", "production", "--no-output"
    )
    assert after.out.splitlines()[0] == "brand: staging -> production: 2 config values differ"
    again = sitegen(project, *args, "--all")
    assert again.code == 1 and "nothing to promote" in again.err


def test_promote_refuses_bad_selections(project: Path, sitegen: Callable[..., Result]) -> None:
    staging_overlay(project)
    args = ("promote", "brand", "--from", "staging", "--to", "production")
    nothing = sitegen(project, *args, "--pages", "articles/nope-*")
    assert nothing.code == 1 and "--pages articles/nope-*: no page matches" in nothing.err
    unknown = sitegen(project, *args, "--experiments", "hero-test")  # production has it
    assert unknown.code == 1 and "(those are: hero-staging)" in unknown.err
    both = sitegen(project, *args, "--all", "--pages", "x")
    assert both.code == 2
    neither = sitegen(project, *args)
    assert neither.code == 2
    env = sitegen(project, "promote", "brand", "--from", "staging", "--to", "prod", "--all")
    assert env.code == 1 and "unknown environment 'prod'" in env.err


def test_promote_a_flag_declared_only_in_the_staging_overlay(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    site = project / "sites/brand/site.yaml"
    site.write_text(
        site.read_text().replace(
            "    base_url: https://staging.brand.test/\n",
            "    base_url: https://staging.brand.test/\n"
            "    features:\n      new-footer:  # try it here first\n        default: true\n",
        )
    )
    diff = sitegen(
        project, "env", "diff", "brand", "--from", "staging", "--to", "production", "--no-output"
    )
    assert "  flag new-footer: only in staging" in diff.out
    args = ("promote", "brand", "--from", "staging", "--to", "production")
    assert sitegen(project, *args, "--flags", "new-footer").code == 0
    text = site.read_text()
    assert text.endswith("features:\n  new-footer:  # try it here first\n    default: true\n")
    assert "    features:" not in text
    after = sitegen(
        project, "env", "diff", "brand", "--from", "staging", "--to", "production", "--no-output"
    )
    assert "flag" not in after.out
    missing = sitegen(project, *args, "--flags", "new-footer")
    assert (
        missing.code == 1
        and "not a flag that the source environment has and the target lacks" in missing.err
    )


def test_env_diff_deployed_shows_what_each_target_serves_and_its_drift(
    deployable: tuple[Path, Path], sitegen: Callable[..., Result]
) -> None:
    project, www = deployable
    site = project / "sites/brand/site.yaml"
    text = site.read_text()
    production = re.search(r"  production:\n    url: (\S+)\n", text)
    assert production is not None
    staging_url = production[1].replace("/www", "/www-staging")
    site.write_text(
        text.replace(production[0], production[0] + f"  staging:\n    url: {staging_url}\n")
    )
    (www.parent / "www-staging").mkdir()
    assert sitegen(project, "build", "brand").code == 0
    deployed = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
    assert deployed.code == 0, deployed.err
    args = ("env", "diff", "brand", "--from", "staging", "--to", "production", "--deployed")
    result = sitegen(project, *args)
    assert result.code == 0, result.err
    served = result.out[result.out.index("deployed:\n") :].splitlines()
    assert served[1] == "  staging on target 'staging': nothing deployed yet"
    assert served[2].startswith("  production on target 'production': version ")
    assert served[2].endswith("; the same as a build of production now; no drift")
    (www / "about/index.html").write_text("edited on the server")
    again = sitegen(project, *args).out
    # The manifest still says what was deployed; the server's file is drift.
    assert "the same as a build of production now; drift in 1 file:\n" in again
    assert "\n    changed  about/index.html (size)\n" in again
    alpha = project / "content/articles/alpha.md"
    alpha.write_text(alpha.read_text() + "\nA sentence added since the deploy.\n")
    changed = sitegen(project, *args).out
    assert re.search(r"; [1-9]\d* files? differs? from a build of production now;", changed)
    document = json.loads(sitegen(project, *args, "--json").out)
    assert [entry["environment"] for entry in document["deployed"]] == ["staging", "production"]
    missing = sitegen(
        project,
        "env",
        "diff",
        "brand",
        "--from",
        "development",
        "--to",
        "production",
        "--deployed",
        "--no-output",
    )
    assert missing.code == 1 and "has no target named 'development'" in missing.err


def test_promote_asks_for_intent_from_one_who_may_not_publish_the_target(
    project: Path, sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    staging_overlay(project)
    (project / "users.yaml").write_text(
        "users:\n  tom:\n    email: tom@example.org\n    grants:\n"
        "      brand: [editor, {role: publisher, environments: [staging]}]\n"
    )
    monkeypatch.setenv("SITEGEN_USER", "tom")
    args = ("promote", "brand", "--from", "staging", "--to", "production", "--all")
    before = (project / "content/articles/preview-one.md").read_bytes()
    assert sitegen(project, *args, "--dry-run").code == 0  # looking is always allowed
    refused = sitegen(project, *args)
    assert refused.code == 1
    assert "user 'tom'" in refused.err and "'publish' permission" in refused.err
    assert "--without-publish-permission" in refused.err
    assert (project / "content/articles/preview-one.md").read_bytes() == before
    meant = sitegen(project, *args, "--without-publish-permission")
    assert meant.code == 0 and "promoting anyway" in meant.err
    assert (project / "content/articles/preview-one.md").read_bytes() != before


def test_promote_refuses_a_partial_or_file_only_the_source_theme_has(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    """Staging tries a new theme: its partial and its image are not production's."""
    staging_overlay(project)
    theme = project / "themes/fancy-next"
    (theme / "templates/partials").mkdir(parents=True)
    (theme / "images").mkdir()
    (theme / "theme.yaml").write_text("extends: fancy\n")
    (theme / "templates/partials/banner.html").write_text("<p class=banner>New</p>\n")
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="3"></svg>\n'
    (theme / "images/route-map.svg").write_text(svg)
    edit(
        project / "sites/brand/site.yaml",
        "    base_url: https://staging.brand.test/\n",
        "    base_url: https://staging.brand.test/\n    theme: fancy-next\n",
    )
    edit(
        project / "sites/brand/site.yaml",
        "arms: {control: 0.5, bold: 0.5}",
        "arms:\n          control: 0.5\n"
        "          banner: {weight: 0.5, partial: partials/banner.html}",
    )
    (project / "content/articles/preview-map.md").write_text(
        "---\ntitle: Map\nenvironments: [staging]\n---\n\n![The route](/images/route-map.svg)\n"
    )
    before = tree(project)
    args = ("promote", "brand", "--from", "staging", "--to", "production")
    experiment = sitegen(project, *args, "--experiments", "hero-staging")
    assert experiment.code == 1
    assert (
        "experiment hero-staging (arm banner) uses the partial 'partials/banner.html', which "
        "only staging has (themes/fancy-next/templates/partials/banner.html)" in experiment.err
    )
    page = sitegen(project, *args, "--pages", "articles/preview-map")
    assert page.code == 1
    assert (
        "content/articles/preview-map.md uses '/images/route-map.svg', a file only staging has "
        "(themes/fancy-next/images/route-map.svg)" in page.err
    )
    assert tree(project) == before  # nothing written
    # Once production's theme has the image too, the page is promoted.
    (project / "themes/plain/images/route-map.svg").write_text(svg)
    assert sitegen(project, *args, "--pages", "articles/preview-map").code == 0
    # With the partial, the experiment passes this check; production's build then refuses it
    # (it would change the home page's hero with production's own experiment).
    (project / "themes/fancy/templates/partials/banner.html").write_text("<p>New</p>\n")
    clash = sitegen(project, *args, "--experiments", "hero-staging")
    assert clash.code == 1
    assert "cannot promote to production: its build with these edits fails: " in clash.err
    assert "'hero-staging' (sites/brand/site.yaml:16) and 'hero-test' both change" in clash.err


def test_promote_a_flag_the_staging_overlay_overrides(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    """Declared for every environment, switched on in staging only: promoting it lays the
    overlay's values over the declaration and removes them from the overlay."""
    site = project / "sites/brand/site.yaml"
    edit(
        site,
        "environments:\n  staging:\n    base_url: https://staging.brand.test/\n",
        "features:\n  new-footer:  # the redesigned footer\n    description: Footer, 2027\n"
        "    default: false   # off until it is ready\n"
        "environments:\n  staging:\n    base_url: https://staging.brand.test/\n"
        "    features:\n      new-footer: {default: true}\n",
    )
    text = site.read_text()
    diff = ("env", "diff", "brand", "--from", "staging", "--to", "production", "--no-output")
    assert "  flag new-footer: differs: default" in sitegen(project, *diff).out
    args = ("promote", "brand", "--from", "staging", "--to", "production")
    done = sitegen(project, *args, "--flags", "new-footer")
    assert done.code == 0, done.err
    assert site.read_text() == text.replace(
        "    default: false   # off until it is ready\n",
        "    default: true    # off until it is ready\n",  # the comment keeps its column
    ).replace("    features:\n      new-footer: {default: true}\n", "")
    assert "flag" not in sitegen(project, *diff).out
    # A difference that the target's own overlay makes cannot be moved from the source's.
    edit(
        site,
        "    base_url: https://staging.brand.test/\n",
        "    base_url: https://staging.brand.test/\n"
        "  production:\n    features:\n      new-footer: {default: false}\n",
    )
    by_hand = sitegen(project, *args, "--flags", "new-footer")
    assert by_hand.code == 1 and "promote it by hand" in by_hand.err
    # Both overlays set it: moving staging's value leaves production's own in the way.
    edit(
        site,
        "  production:\n",
        "    features:\n      new-footer: {default: true}\n  production:\n",
    )
    text = site.read_text()
    still = sitegen(project, *args, "--flags", "new-footer")
    assert still.code == 1
    assert "with the edits, production still has it otherwise than staging" in still.err
    assert site.read_text() == text


def test_promote_keeps_the_comment_of_a_flow_style_environments_line(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    page = project / "content/articles/preview-one.md"
    page.write_text("---\ntitle: One\nenvironments: [staging]  # not yet\n---\nSoon.\n")
    args = ("promote", "brand", "--from", "staging", "--to", "production", "--all")
    assert sitegen(project, *args).code == 0
    assert page.read_text() == (
        "---\ntitle: One\nenvironments: [staging, production]  # not yet\n---\nSoon.\n"
    )
