"""`sitegen env diff`: config, content and built output that differ between two
environments of a site, each listed only where they differ; bad input refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Result

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
