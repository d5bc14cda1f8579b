"""Prebuilt variants: which files exist, what they contain, and the errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, edit


def variant_paths(project: Path, site: str) -> set[str]:
    root = project / "build" / site / "_variants"
    return {str(p.relative_to(root)) for p in root.rglob("*.html")} if root.exists() else set()


def test_variants_are_planned_rendered_and_listed(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    result = sitegen(project, "build")
    assert result.code == 0, result.err
    # "/" has the newsletter rule and the two-arm hero experiment: every combination of
    # {newsletter or not} x {control, bold, not enrolled} is a variant, but only different
    # contents get files: the control arm changes nothing (its file is the default page),
    # and the bold arm wins the hero slot over the newsletter rule
    assert variant_paths(project, "brand") == {
        "seg-newsletter/index.html",
        "hero-test-bold/index.html",
    }
    # each routed combination goes to the file with its content, most specific first
    htaccess = (project / "build/brand/.htaccess").read_text()
    targets = [
        line.split()[1]
        for line in htaccess.splitlines()
        if line.startswith("DirectoryIndex /_variants/")
    ]
    assert targets == [
        "/_variants/hero-test-bold/index.html",  # bold + newsletter
        "/_variants/seg-newsletter/index.html",  # control + newsletter
        "/_variants/hero-test-bold/index.html",  # bold
        "/_variants/seg-newsletter/index.html",
    ]  # newsletter, not enrolled
    # other disables the experiment but inherits the rule
    assert variant_paths(project, "other") == {"seg-newsletter/index.html"}
    site = project / "build/brand"
    default = (site / "index.html").read_text()
    assert "Default hero" in default and '<meta name="sitegen:variant" content="">' in default
    assert '<meta name="robots"' not in default
    bold = (site / "_variants/hero-test-bold/index.html").read_text()
    shown = bold.split("<!--/sg-slot-->")[0]
    assert "BOLD HERO for Brand" in shown and "Default hero" not in shown
    assert '<meta name="sitegen:variant" content="hero-test-bold">' in bold
    # served at the page's own URL by the rules above: never noindex (the runtime adds it
    # when the file is opened at its /_variants/ URL)
    assert '<meta name="robots"' not in bold
    newsletter = (site / "_variants/seg-newsletter/index.html").read_text()
    assert "<strong>newsletter reader</strong>" in newsletter
    # every file carries the other files' hero as <template>s, filled before first paint
    templates = re.findall(r'<template data-sg-slot="([^"]+)">(.*?)</template>', default, re.S)
    assert [
        (keys, "BOLD HERO" in text, "newsletter reader" in text) for keys, text in templates
    ] == [("hero-test-bold", True, False), ("seg-newsletter", False, True)]
    assert re.findall(r'<template data-sg-slot="([^"]+)"', bold) == ["default", "seg-newsletter"]
    assert default.count("<script>sitegen.fill(document.currentScript)</script>") == 1
    manifest = json.loads((project / "build/.sitegen/sites/brand/manifest.json").read_text())
    kinds = {path: entry["kind"] for path, entry in manifest["files"].items()}
    assert kinds["_variants/hero-test-bold/index.html"] == "variant"
    assert kinds["index.html"] == "page"
    assert not any(path.startswith("_variants/") for path in kinds if kinds[path] != "variant")
    # pages nothing targets have exactly one file
    assert not any("articles" in path for path in variant_paths(project, "brand"))


def test_concluded_experiment_serves_its_winner_to_everyone(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    edit(
        project / "sites/root/site.yaml",
        "    status: running",
        "    status: concluded\n    winner: bold",
    )
    assert sitegen(project, "build", "brand").code == 0
    assert "BOLD HERO" in (project / "build/brand/index.html").read_text()
    assert variant_paths(project, "brand") == {"seg-newsletter/index.html"}


def test_editing_variant_text_rebuilds_only_what_shows_it(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    assert sitegen(project, "build", "brand").code == 0
    edit(
        project / "sites/root/content/index.variants/hero.newsletter.md", "this month", "this week"
    )
    result = sitegen(project, "build", "brand")
    # seg-newsletter's file, and the two that carry its hero as an alternative
    assert "3 rendered" in result.out, result.out
    assert "this week" in (project / "build/brand/_variants/seg-newsletter/index.html").read_text()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda p: edit(
                p / "sites/root/site.yaml",
                "rules:\n",
                "personalization:\n  max_variants: 4\nrules:\n",
            ),
            r"/ would need 5 variants, more than the limit of 4 \(personalization.max_variants\); "
            r"dimensions: segments newsletter \(2 combinations\) × experiment hero-test ",
        ),
        (
            lambda p: (p / "themes/plain/templates/home.html").write_text(
                '{% extends "list.html" %}\n'
            ),
            # both the experiment and the rule change the slot; whichever variant a worker renders
            # first reports it
            r"sites/root/site.yaml:\d+: (experiment hero-test, arm bold|rule newsletter-hero) "
            r"changes slot 'hero', but template 'home.html' used by / has no such slot",
        ),
        (
            lambda p: edit(
                p / "sites/root/site.yaml",
                "rules:\n",
                "rules:\n  second:\n"
                "    when: returning\n    pages: ['/']\n    priority: 10\n    then:\n"
                "      slot: hero\n      markdown: newsletter\n",
            ),
            r"sites/root/site.yaml:\d+: rules 'newsletter-hero' \(sites/root/site.yaml:\d+\) and "
            r"'second' \(sites/root/site.yaml:\d+\) both change hero on / with priority 10",
        ),
        (
            lambda p: edit(
                p / "sites/root/site.yaml",
                "experiments:\n",
                "experiments:\n"
                "  other-hero:\n    arms: {a: 0.5, b: {weight: 0.5, partial: x.html}}\n"
                "    slot: hero\n    pages: ['/']\n    status: running\n"
                "    goals: [{page: /articles/}]\n",
            ),
            r"experiments 'hero-test' \(sites/root/site.yaml:\d+\) and 'other-hero' both change "
            r"hero on /; declare them mutually exclusive",
        ),
        (
            lambda p: (p / "sites/root/content/index.variants/hero.newsletter.md").unlink(),
            r"sites/root/site.yaml:\d+: rule newsletter-hero changes slot 'hero' of / with text "
            r"'newsletter', but there is no such file \(expected one of: "
            r"sites/brand/content/index.variants/hero.newsletter.md",
        ),
    ],
)
def test_variant_errors(
    project: Path, sitegen: Callable[..., Result], change: Callable[[Path], None], expected: str
) -> None:
    import re

    change(project)
    result = sitegen(project, "build", "brand")
    assert result.code == 1
    assert re.search(expected, result.err), result.err


def test_rules_can_switch_the_template_or_replace_the_page(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    (project / "content/landing").mkdir()
    (project / "content/landing/spring.md").write_text(
        "---\ntitle: Spring offer\n---\nEverything for spring, in one place.\n"
    )
    (project / "themes/plain/templates/wide.html").write_text(
        '{% extends "page.html" %}{% block title %}WIDE {{ page.title }}{% endblock %}\n'
    )
    edit(
        project / "sites/root/site.yaml",
        "rules:\n",
        "rules:\n"
        "  wide-returning:\n    when: returning\n    pages: ['/articles/alpha/']\n"
        "    then: {template: wide.html}\n"
        "  spring:\n    when: {condition: {utm.campaign: spring}}\n"
        "    pages: ['/articles/beta/']\n    then: {page: content/landing/spring.md}\n",
    )
    result = sitegen(project, "build", "brand")
    assert result.code == 0, result.err
    site = project / "build/brand"
    wide = (site / "_variants/seg-returning/articles/alpha/index.html").read_text()
    assert "<title>WIDE Alpha</title>" in wide
    spring = (site / "_variants/seg-rule-spring/articles/beta/index.html").read_text()
    assert "Everything for spring" in spring and "Spring offer" in spring
    assert "Everything for spring" not in (site / "articles/beta/index.html").read_text()
    config = (site / "articles/beta/index.html").read_text()
    assert '"rule-spring":{"utm.campaign":"spring"}' in config  # the runtime knows it
