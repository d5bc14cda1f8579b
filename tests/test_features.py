"""Feature flags (`features:`): GrowthBook's model in site.yaml, resolved by the build for
the site and environment, inherited and overridden by id, with bad input refused at its
line (issue 14)."""

from __future__ import annotations

import re
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


def test_a_flag_that_looks_at_the_visitor_gets_a_variant_per_value(
    flagged: Path, sitegen: Callable[..., Result]
) -> None:
    edit(
        flagged / "sites/root/site.yaml",
        "        condition: {environment: staging}\n",
        "        condition: {utm.source: newsletter}\n",
    )
    built = sitegen(flagged, "build", "brand")
    assert built.code == 0, built.err
    # The default file: what a visitor with no attributes (a crawler) gets.
    default = page(flagged, "brand")
    assert "new-footer" not in default.split("</head>")[1]
    assert "<p class=launch>gated</p>" in default
    # One file per value; 'launch' looks at the visitor through its prerequisite.
    variants = flagged / "build/brand/_variants"
    both = (variants / "seg-launch~2+seg-new-footer~1/index.html").read_text()
    assert "<p class=new-footer>new</p>" in both and "<p class=launch>on</p>" in both
    alone = (variants / "seg-new-footer~1/index.html").read_text()
    assert "<p class=new-footer>new</p>" in alone and "<p class=launch>gated</p>" in alone
    # The runtime tests each value as a segment; the server routes on the segment cookie.
    assert '"new-footer~1":{"$feature":["new-footer",1]}' in default
    assert '"values":{"launch":[null,"off","on"],"new-footer":[false,true]}' in default
    htaccess = (flagged / "build/brand/.htaccess").read_text()
    assert "sg_seg=([^;]*\\.)?new\\-footer\\~1(\\.[^;]*)?" in htaccess
    # A flag the build resolves costs nothing: 'banner' has no segment of its own.
    assert "banner~" not in default and not list(variants.glob("*banner*"))
    shown = sitegen(flagged, "config", "show", "brand", "--explain")
    assert shown.code == 0, shown.err
    assert (
        "#   new-footer: looks at the visitor, resolved by the runtime; values false, true "
        "(the first in default files), a variant per value on /**, sites/root/site.yaml:"
    ) in shown.out
    assert '#   launch: looks at the visitor, resolved by the runtime; values null, "off"' in (
        shown.out
    )


def test_a_visitor_flag_has_variants_only_on_its_pages(
    flagged: Path, sitegen: Callable[..., Result]
) -> None:
    edit(
        flagged / "sites/root/site.yaml",
        "    default: false\n",
        "    default: false\n    pages: [/]\n",
    )
    edit(
        flagged / "sites/root/site.yaml",
        "        condition: {environment: staging}\n",
        "        coverage: 0.5\n",
    )
    edit(flagged / "sites/root/site.yaml", "  launch:\n", "  launch:\n    pages: [/]\n")
    built = sitegen(flagged, "build", "brand")
    assert built.code == 0, built.err
    variants = flagged / "build/brand/_variants"
    names = [path.parent.name for path in variants.glob("*/index.html")]
    # (The home page has an experiment and a segment of its own: their variants combine.)
    assert sorted(name for name in names if all("~" in part for part in name.split("+"))) == [
        "seg-launch~1",
        "seg-launch~1+seg-new-footer~1",
        "seg-launch~2",
        "seg-launch~2+seg-new-footer~1",
        "seg-new-footer~1",
    ]
    assert not list(variants.glob("*/articles"))
    # Elsewhere (other pages, the 404 page) the default file's value: the flag is off.
    other = page(flagged, "brand", "articles/alpha/index.html")
    assert "<p class=new-footer>" not in other and "<p class=launch>gated</p>" in other
    assert "<p class=new-footer>" not in page(flagged, "brand", "404.html")


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
    edit(flagged / "sites/root/site.yaml", old, new)
    failed = sitegen(flagged, "build")
    assert failed.code == 1
    assert re.search(r"sites/root/site.yaml:\d+: " + expected, failed.err), failed.err


def test_a_visitor_flag_with_too_many_values_is_refused(
    flagged: Path, sitegen: Callable[..., Result]
) -> None:
    values = ", ".join(f"v{n}" for n in range(70))
    edit(
        flagged / "sites/root/site.yaml",
        "        condition: {environment: staging}\n        force: true\n",
        f"        variations: [{values}]\n",
    )
    failed = sitegen(flagged, "build", "other")
    assert failed.code == 1
    assert "variants, more than the limit of 64 (personalization.max_variants)" in failed.err
    assert "feature flag new-footer (71 values)" in failed.err
    assert not (flagged / "build/other").exists()


def test_an_experiment_rule_no_experiment_measures_is_built_with_a_warning(
    flagged: Path, sitegen: Callable[..., Result]
) -> None:
    edit(
        flagged / "sites/root/site.yaml",
        "        condition: {environment: staging}\n        force: true\n",
        "        variations: [false, true]\n",
    )
    built = sitegen(flagged, "build", "other")
    assert built.code == 0, built.err
    warnings = [line for line in built.err.splitlines() if "is not measured" in line]
    assert len(warnings) == 1, built.err  # once, though every site inherits the flag
    assert re.search(
        r"warning: sites/root/site.yaml:\d+: features.new-footer.rules\[\d\]: experiment "
        r"rule 'new-footer' is not measured \(no 'experiments.new-footer'\)",
        warnings[0],
    )


LINKED = """  footer-test:
    arms: {old: 0.5, new: 0.5}
    pages: ["/"]
    status: running
    goals:
      - page: /articles/
"""

LINKED_FLAG = """  new-footer:
    default: false
    pages: ["/"]
    rules:
      - condition: {utm.source: newsletter}
        force: true
      - key: footer-test
        variations: [false, true]
"""


@pytest.fixture
def linked(flagged: Path) -> Path:
    """'new-footer' as an experiment rule run by experiment 'footer-test'."""
    root = flagged / "sites/root/site.yaml"
    text = root.read_text().replace("experiments:\n", "experiments:\n" + LINKED, 1)
    start = text.index("  new-footer:\n")
    end = text.index("  banner:\n")
    text = text[:start] + LINKED_FLAG + text[end:]
    # (launch, gated by new-footer, would multiply the home page's variants past the limit)
    root.write_text(text.replace("  launch:\n", "  launch:\n    pages: [/articles/]\n"))
    return flagged


def test_an_experiment_rule_can_be_run_by_a_sitegen_experiment(
    linked: Path, sitegen: Callable[..., Result]
) -> None:
    built = sitegen(linked, "build", "brand")
    assert built.code == 0, built.err
    home = page(linked, "brand")
    # The rule is marked for the runtime, which gives it the arm runtime.js keeps.
    assert '"sitegenExperiment":"footer-test"' in home
    variants = linked / "build/brand/_variants"
    # An arm changes nothing by itself: its files are the flag value's.
    assert (variants / "seg-new-footer~1/index.html").is_file()
    assert not list(variants.glob("footer-test-*"))
    assert "<p class=new-footer>new</p>" in (variants / "seg-new-footer~1/index.html").read_text()
    # The experiment's statistics are sitegen's: it is listed like any other.
    status = sitegen(linked, "experiments", "status", "brand")
    assert status.code == 0, status.err
    assert "footer-test" in status.out

    # Concluded, the rule gives the winner's variation to everyone it reaches: crawlers
    # included, so the default file has it.
    edit(
        linked / "sites/root/site.yaml",
        "    status: running\n    goals:\n      - page: /articles/\n",
        "    status: concluded\n    winner: new\n    goals:\n      - page: /articles/\n",
    )
    again = sitegen(linked, "build", "brand")
    assert again.code == 0, again.err
    home = page(linked, "brand")
    assert "<p class=new-footer>new</p>" in home and '"sitegenExperiment":' not in home
    assert '"new-footer":[true,false]' in home


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "        variations: [false, true]\n",
            "        variations: [false, true, null]\n",
            r"features.new-footer.rules\[1\].variations: experiment 'footer-test' "
            r"\(sites/root/site.yaml:\d+\) has 2 arms \(old, new\); expected one variation "
            "per arm",
        ),
        (
            "        variations: [false, true]\n",
            "        variations: [false, true]\n        weights: [0.2, 0.8]\n",
            r"features.new-footer.rules\[1\].weights: this rule is run by experiment "
            "'footer-test'.*set 'weights' there, or give the rule a key of its own",
        ),
    ],
)
def test_a_rule_run_by_an_experiment_must_match_it(
    linked: Path, sitegen: Callable[..., Result], old: str, new: str, expected: str
) -> None:
    edit(linked / "sites/root/site.yaml", old, new)
    failed = sitegen(linked, "build")
    assert failed.code == 1
    assert re.search(r"sites/root/site.yaml:\d+: " + expected, failed.err), failed.err
