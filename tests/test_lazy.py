"""Lazy components: fragments, placeholders, the per-page manifest, build errors, and the
loader in headless Chromium behind Apache (triggers, priority order, concurrency limit)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path

from tests.apache import apache
from tests.browser import DESKTOP_AGENT, dump_dom
from tests.conftest import Result, edit

LAZY_PAGE = """{% extends "base.html" %}
{% block main %}<article><h1>{{ page.title }}</h1>
{{ lazy("note", trigger="visible", priority=9, height="5rem") }}
{{ lazy("box", trigger="media", media="(min-width: 1px)", priority=3) }}
{{ lazy("box", trigger="media", media="(min-width: 1px)", priority=1) }}
{{ lazy("box", trigger="media", media="(min-width: 1px)", priority=2) }}
{{ lazy("box", trigger="media", media="(min-width: 1px)", priority=5) }}
{{ lazy("box", trigger="media", media="(min-width: 1px)", priority=4) }}
{{ lazy("box", trigger="media", media="(max-width: 1px)", priority=0) }}
{{ lazy("note", trigger="interaction", height="5rem") }}
<div style="height:6000px"></div>
{{ lazy("note", trigger="visible", priority=0, height="5rem") }}
</article>{% endblock %}
"""

# The test's own script, inside the page (the page's policy allows its inline scripts by
# hash): it reads what loaded, makes an interaction, reads again, and writes both readings
# into the page for --dump-dom.
PROBE = """<pre id="out">pending</pre><script>
(function () {
  var results = [];
  function read() {
    return {log: window.sitegenLazy ? window.sitegenLazy.log.slice() : [],
            loaded: Array.prototype.map.call(document.querySelectorAll("[data-sg-loaded]"),
                                             function (e) { return e.id; })};
  }
  function when(ready, then, waited) {
    if (ready() || waited > 4000) return then();
    setTimeout(function () { when(ready, then, (waited || 0) + 100); }, 100);
  }
  window.addEventListener("load", function () {
    when(function () { return read().loaded.length >= 6; }, function () {
      setTimeout(function () {
        results.push(read());
        window.dispatchEvent(new Event("pointerdown"));   // an interaction
        when(function () { return read().loaded.length >= 7; }, function () {
          results.push(read());
          document.getElementById("out").textContent = JSON.stringify(results);
        });
      }, 500);
    });
  });
})();
</script>"""


def lazy_site(project: Path) -> None:
    components = project / "themes/plain/templates/components"
    components.mkdir(parents=True)
    (components / "box.html").write_text('<p class="box">A box of {{ site.title }}.</p>\n')
    (components / "note.html").write_text("<p>A note.</p>\n")
    (project / "themes/plain/templates/lazy.html").write_text(LAZY_PAGE)
    (project / "content/articles/lazy.md").write_text(
        "---\ntitle: Lazy\ntemplate: lazy.html\n---\nLazy.\n"
    )


def test_fragments_placeholders_and_manifest(project: Path, sitegen: Callable[..., Result]) -> None:
    lazy_site(project)
    built = sitegen(project, "build", "brand")
    assert built.code == 0, built.err
    site = project / "build/brand"
    fragments = sorted((site / "_sg/components").iterdir())
    assert [re.sub(r"\.[0-9a-f]{8}\.", ".#.", p.name) for p in fragments] == [
        "box.#.html",
        "note.#.html",
    ]
    box = fragments[0].read_text()
    assert box == '<p class="box">A box of Brand.</p>\n'
    page = (site / "articles/lazy/index.html").read_text()
    assert page.count('class="sg-lazy"') == 9
    assert (
        '<div class="sg-lazy" id="sg-lazy-2" style="min-height:10rem"><noscript>'
        '<p class="box">A box of Brand.</p>' in page
    )  # no-JS fallback
    found = re.search(r'id="sitegen-lazy">(.*?)</script>', page)
    assert found is not None
    manifest = json.loads(found.group(1))
    assert manifest["concurrency"] == 2
    first = manifest["components"][1]
    assert first == {
        "id": "sg-lazy-2",
        "component": "box",
        "url": "/" + str(fragments[0].relative_to(site)),
        "trigger": "media",
        "media": "(min-width: 1px)",
        "priority": 3,
        "bytes": len(box),
        "depends": ["config:title", "template:components/box.html"],
    }
    # A component's change reaches the pages that place it (new fingerprint).
    (project / "themes/plain/templates/components/box.html").write_text("<p>New box.</p>\n")
    assert sitegen(project, "build", "brand").code == 0
    assert "<p>New box.</p>" in (site / "articles/lazy/index.html").read_text()
    assert not fragments[0].exists()


def test_bad_lazy_calls_are_build_errors(project: Path, sitegen: Callable[..., Result]) -> None:
    lazy_site(project)
    template = project / "themes/plain/templates/lazy.html"
    edit(template, 'lazy("note", trigger="interaction"', 'lazy("nots", trigger="interaction"')
    missing = sitegen(project, "build", "brand")
    assert missing.code == 1 and "lazy component 'nots' does not exist" in missing.err
    assert "did you mean 'note'" in missing.err
    edit(template, 'lazy("nots", trigger="interaction"', 'lazy("note", trigger="hover"')
    wrong = sitegen(project, "build", "brand")
    assert wrong.code == 1 and "trigger 'hover' is not one of visible, idle" in wrong.err


def test_loader_triggers_priority_and_concurrency(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    lazy_site(project)
    edit(project / "themes/plain/templates/lazy.html", "</article>", PROBE + "</article>")
    assert sitegen(project, "build", "brand").code == 0
    with apache(project / "build/brand") as base:
        dom = dump_dom(
            f'<!doctype html><script>location.replace("{base}/articles/lazy/")</script>',
            budget_ms=30000,
            user_agent=DESKTOP_AGENT,
        )
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    assert found and found.group(1) != "pending", dom[:2000]
    before, after = json.loads(html.unescape(found.group(1)))
    starts = [entry.split(":")[1] for entry in before["log"] if entry.startswith("start:")]
    # The five media components by priority (1 to 5 are sg-lazy-3, 4, 2, 6, 5), then the
    # visible one in view (sg-lazy-1, priority 9); not the one whose media query does not
    # match, not the one waiting for an interaction, not the one below the fold.
    assert starts == ["sg-lazy-3", "sg-lazy-4", "sg-lazy-2", "sg-lazy-6", "sg-lazy-5", "sg-lazy-1"]
    assert sorted(before["loaded"]) == sorted(starts)
    in_flight = peak = 0
    for entry in before["log"]:
        in_flight += 1 if entry.startswith("start:") else -1
        peak = max(peak, in_flight)
    assert peak == 2  # the concurrency limit
    # A pointer down is an interaction: sg-lazy-8 follows; the one below the fold waits.
    assert sorted(after["loaded"]) == sorted([*starts, "sg-lazy-8"])


def test_a_variant_slot_can_hold_a_lazy_component(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    lazy_site(project)
    partial = project / "themes/plain/templates/partials/hero-bold.html"
    partial.write_text(partial.read_text() + '{{ lazy("note", trigger="idle") }}\n')
    assert sitegen(project, "build", "brand").code == 0
    variant = (project / "build/brand/_variants/hero-test-bold/index.html").read_text()
    default = (project / "build/brand/index.html").read_text()
    assert 'class="sg-lazy"' in variant and 'id="sitegen-lazy"' in variant
    assert '"component":"note"' in variant and '"trigger":"idle"' in variant
    # the default carries it only inside the bold arm's alternative of the slot
    import re

    assert 'class="sg-lazy"' in default
    assert 'class="sg-lazy"' not in re.sub(r"<template.*?</template>", "", default, flags=re.S)


def test_a_broken_component_names_its_template(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    lazy_site(project)
    (project / "themes/plain/templates/components/note.html").write_text("<p>\n{% if %}</p>\n")
    result = sitegen(project, "build", "brand")
    assert result.code == 1
    assert "themes/plain/templates/components/note.html:2" in result.err, result.err
