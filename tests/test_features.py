"""Feature flags (`features:`): GrowthBook's model in site.yaml, resolved by the build for
the site and environment, inherited and overridden by id, with bad input refused at its
line (issue 14)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, edit

FLAGS = """features:
  new-footer:
    description: the redesigned footer, tried in staging first
    default: false
    rules:
      - id: staging-first
        condition: {environment: staging}
        force: true
  banner:
    default: {text: Welcome, color: blue}
    rules:
      - condition: {site: other}
        force: {text: Hello other, color: red}
  launch:
    default: "off"
    rules:
      - parent_conditions: [{id: new-footer, condition: {value: true}, gate: true}]
      - force: "on"
"""

FLAGGED = (
    "{% if feature('new-footer') %}<p class=new-footer>new</p>{% endif %}"
    "<p class=banner>{{ feature('banner').text }} / {{ feature('banner').color }}</p>"
    "<p class=launch>{{ feature('launch') or 'gated' }}</p>"
)


@pytest.fixture
def flagged(project: Path) -> Path:
    root = project / "sites/root/site.yaml"
    root.write_text(root.read_text() + FLAGS)
    edit(
        project / "themes/plain/templates/base.html",
        '{% include "partials/footer.html" %}',
        FLAGGED,
    )
    return project


def page(project: Path, site: str, url: str = "index.html", out: str = "build") -> str:
    return (project / out / site / url).read_text()


def test_flags_resolve_per_site_and_environment(
    flagged: Path, sitegen: Callable[..., Result]
) -> None:
    edit(
        flagged / "sites/brand/site.yaml",
        "menu+:",
        "features:\n  banner:\n    default: {text: Brand banner, color: green}\nmenu+:",
    )
    assert sitegen(flagged, "build").code == 0
    brand, other = page(flagged, "brand"), page(flagged, "other")
    # A prerequisite that fails its gate turns the flag off altogether (GrowthBook: null).
    assert "new-footer" not in brand and "<p class=launch>gated</p>" in brand
    assert "Brand banner / green" in brand  # the child's own value, by the flag's id
    assert "Hello other / red" in other  # the root's rule for site 'other'
    staging = str(flagged / "staging")
    assert sitegen(flagged, "build", "--env", "staging", "--out", staging).code == 0
    staged = page(flagged, "brand", out="staging")
    assert "<p class=new-footer>new</p>" in staged and "<p class=launch>on</p>" in staged

    shown = sitegen(flagged, "config", "show", "brand", "--env", "staging", "--explain")
    assert shown.code == 0, shown.err
    assert "#   new-footer = true  (rule staging-first, sites/root/site.yaml:" in shown.out
    assert '#   banner = {"text": "Brand banner", "color": "green"}  (defaultValue' in shown.out
    assert '#   launch = "on"  (rule rules[1]' in shown.out


def test_a_changed_flag_renders_again_what_used_it(
    flagged: Path, sitegen: Callable[..., Result]
) -> None:
    assert sitegen(flagged, "build", "brand").code == 0
    edit(flagged / "sites/root/site.yaml", "default: {text: Welcome,", "default: {text: Hi,")
    again = sitegen(flagged, "build", "brand")
    assert again.code == 0 and " 0 rendered" not in again.out
    assert "Hi / blue" in page(flagged, "brand")


def test_a_site_can_remove_an_inherited_flag(flagged: Path, sitegen: Callable[..., Result]) -> None:
    edit(
        flagged / "sites/other/site.yaml",
        "experiments:",
        "features:\n  launch: false\nexperiments:",
    )
    failed = sitegen(flagged, "build", "other")
    assert failed.code == 1
    assert "feature('launch'): site 'other' has no feature flag 'launch'" in failed.err


def test_a_flag_that_looks_at_the_visitor_is_not_resolved_by_the_build(
    flagged: Path, sitegen: Callable[..., Result]
) -> None:
    edit(
        flagged / "sites/root/site.yaml",
        "        condition: {environment: staging}\n",
        "        condition: {utm.source: newsletter}\n",
    )
    failed = sitegen(flagged, "build", "brand")
    assert failed.code == 1
    assert "feature 'new-footer': rule 0 looks at the visitor" in failed.err
    assert "sites/root/site.yaml:" in failed.err


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "        force: true\n",
            "        force: true\n        hashattribute: id\n",
            r"features.new-footer.rules\[0\].hashattribute: unknown key .*did you mean "
            "'hash_attribute'",
        ),
        (
            "        force: true\n",
            "        force: true\n        coverage: 1.5\n",
            r"features.new-footer.rules\[0\].coverage: .*1",
        ),
        (
            "        force: true\n",
            "        variations: [a, b]\n        weights: [0.5, 0.6]\n",
            r"features.new-footer.rules\[0\].weights: weights must sum to 1, they sum to 1.1",
        ),
        (
            "        force: true\n",
            "        force: true\n        variations: [a, b]\n",
            r"features.new-footer.rules\[0\]: expected either 'force' \(a value\) or "
            r"'variations' \(an experiment\), not both",
        ),
        (
            "        condition: {environment: staging}\n",
            "        condition: {environment: {$in: staging}}\n",
            r"features.new-footer.rules\[0\].condition.environment.\$in",
        ),
    ],
)
def test_bad_flags_are_errors_at_their_line(
    flagged: Path, sitegen: Callable[..., Result], old: str, new: str, expected: str
) -> None:
    import re

    edit(flagged / "sites/root/site.yaml", old, new)
    failed = sitegen(flagged, "build")
    assert failed.code == 1
    assert re.search(r"sites/root/site.yaml:\d+: " + expected, failed.err), failed.err
