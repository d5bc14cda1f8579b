"""The Markdown authors get: footnotes, task lists, definition lists, admonitions, smart
quotes, heading anchors and a table of contents, highlighted code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from generator.render.markdown import render_markdown
from tests.conftest import Result, demo_copy

TEXT = """Intro "quoted" -- it's (c) 2026[^n].

## First part

- [ ] to do
- [x] done

### A detail

Term
: what it means

!!! warning "Mind the gap"
    Between the train and the platform.

## Second part

```python
def greet(name):
    return "hello " + name  # friendly
```

```nosuchlanguage
left <as> it is
```

[^n]: The note.
"""


def test_every_markdown_feature_renders() -> None:
    html = render_markdown(TEXT)
    assert "Intro \u201cquoted\u201d \u2013 it\u2019s \u00a9 2026" in html
    assert '<sup class="footnote-ref"><a href="#fn1" id="fnref1">[1]</a></sup>' in html
    assert '<li id="fn1" class="footnote-item"><p>The note.' in html
    assert (
        '<label><input class="task-list-item-checkbox" disabled="disabled" type="checkbox"> '
        "to do</label>" in html
    )
    assert 'checked="checked"' in html
    assert "<dt>Term</dt>\n<dd>what it means</dd>" in html
    assert '<div class="admonition warning">\n<p class="admonition-title">Mind the gap</p>' in html
    assert (
        '<h2 id="first-part">First part <a class="header-anchor" href="#first-part">#</a></h2>'
        in html
    )
    assert (
        '<div class="highlight"><pre><code class="language-python"><span class="k">def</span>'
        in html
    )
    assert '<span class="c1"># friendly</span>' in html
    assert '<pre><code class="language-nosuchlanguage">left &lt;as&gt; it is' in html


def test_a_long_page_gets_a_table_of_contents(
    tmp_path: Path, sitegen: Callable[..., Result]
) -> None:
    root = demo_copy(tmp_path / "demo")
    (root / "content/guides/hiking/long.md").write_text(
        "---\ntitle: Long\ntags: [hiking]\n---\n" + TEXT
    )
    assert sitegen(root, "build", "trailhead").code == 0
    page = (root / "build/trailhead/guides/hiking/long/index.html").read_text()
    assert '<nav class="toc" aria-label="On this page">' in page
    assert (
        '<li class="toc-2"><a href="#first-part">First part</a></li>'
        '<li class="toc-3"><a href="#a-detail">A detail</a></li>'
        '<li class="toc-2"><a href="#second-part">Second part</a></li>'
    ) in page
    short = (root / "build/trailhead/guides/hiking/layering/index.html").read_text()
    assert 'class="toc"' not in short or short.count('class="toc-') >= 3


def test_smart_quotes_change_no_existing_site_until_it_opts_in(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    """The fixture network is in config format 1 (before smart quotes): its pages keep the
    quotes as typed; `compat: {smart_quotes: true}` turns them on, and the pages are
    rendered again."""
    assert sitegen(project, "build", "brand").code == 0
    beta = project / "build/brand/articles/beta/index.html"
    assert "<p>Brand's own beta.</p>" in beta.read_text()
    site_yaml = project / "sites/brand/site.yaml"
    site_yaml.write_text(site_yaml.read_text() + "compat:\n  smart_quotes: true\n")
    assert sitegen(project, "build", "brand").code == 0
    assert "<p>Brand\u2019s own beta.</p>" in beta.read_text()
