"""Generate the benchmark corpus: N pages of about 600 words with lists, code, tables, links
and three tags each, written for sitegen, Hugo and Pelican from the same random seed."""

from __future__ import annotations

import datetime as dt
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

WORDS = (
    "trail ridge valley summit pass hut boot sole lace tent pole fly guy line stake wind rain "
    "cloud sun frost snow ice glacier crevasse rope knot harness helmet map compass bearing "
    "contour river bridge ford forest meadow lake shore harbour tide sail reef anchor chain "
    "mast boom sheet halyard winch cleat deck hull keel rudder tiller weather forecast front "
    "pressure storm calm breeze gust morning evening night dawn dusk route climb descent walk "
    "hike camp stove pot fuel water filter food snack layer fleece shell down jacket glove hat "
    "sock blister bandage tape repair patch seam zip slider buckle strap pack frame hip belt "
    "the a of to and in on for with by from over under across through along around between "
    "is are was were be been will can should must may might keeps holds stays moves turns "
    "carefully slowly quickly early late always never often sometimes usually rarely"
).split()
TAGS = [f"topic-{n:03}" for n in range(120)]


@dataclass(frozen=True)
class CorpusPage:
    slug: str
    title: str
    date: dt.date
    tags: tuple[str, str, str]
    body: str


def _sentence(rng: random.Random, low: int = 8, high: int = 18) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


def _body(rng: random.Random, index: int, count: int) -> str:
    link = rng.randrange(count)
    parts = [
        _paragraph(rng, 6),
        "## " + _sentence(rng, 3, 5).rstrip("."),
        _paragraph(rng, 5) + f" See also [page {link}](/posts/page-{link:05}/).",
        "\n".join(f"- {_sentence(rng, 4, 9)}" for _ in range(5)),
        "## " + _sentence(rng, 3, 5).rstrip("."),
        _paragraph(rng, 6),
        "```python\n"
        + "\n".join(f"value_{n} = compute({n}, '{rng.choice(WORDS)}')" for n in range(6))
        + "\n```",
        "| item | weight | note |\n|------|--------|------|\n"
        + "\n".join(
            f"| {rng.choice(WORDS)} | {rng.randint(50, 900)} g | {rng.choice(WORDS)} |"
            for _ in range(5)
        ),
        _paragraph(rng, 6),
        "1. " + _sentence(rng) + "\n2. " + _sentence(rng) + "\n3. " + _sentence(rng),
        _paragraph(rng, 5),
        _paragraph(rng, 4),
    ]
    return "\n\n".join(parts) + "\n"


def generate_pages(count: int, seed: int = 2026) -> list[CorpusPage]:
    rng = random.Random(seed)
    start = dt.date(2015, 1, 1)
    pages = []
    for index in range(count):
        tags = tuple(rng.sample(TAGS, 3))
        pages.append(
            CorpusPage(
                slug=f"page-{index:05}",
                title=f"{_sentence(rng, 3, 6).rstrip('.')} {index}",
                date=start + dt.timedelta(days=index % 3650),
                tags=(tags[0], tags[1], tags[2]),
                body=_body(rng, index, count),
            )
        )
    return pages


def _fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _yaml_front(page: CorpusPage) -> str:
    return (
        f'---\ntitle: "{page.title}"\ndate: {page.date.isoformat()}\n'
        f"tags: [{', '.join(page.tags)}]\n---\n\n"
    )


MINIMAL_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title></head><body><header><a href="/">{site}</a></header>
<main>{main}</main></body></html>
"""


RELATED = 5
"""Related pages listed on every page (when the benchmark runs with related content)."""


def write_sitegen(pages: list[CorpusPage], root: Path, related: bool = True) -> Path:
    root = _fresh(root)
    (root / "sites/bench").mkdir(parents=True)
    (root / "sites/bench/site.yaml").write_text(
        "title: Bench\nbase_url: https://bench.example/\ntheme: minimal\n"
        "pools:\n  posts: {}\nfeed:\n  enabled: false\nsitemap: false\n"
        # Like the peers' minimal themes: no tracking runtime.
        f"recommendations:\n  enabled: {'true' if related else 'false'}\n"
        f"  count: {RELATED}\nanalytics:\n  enabled: false\n"
    )
    templates = root / "themes/minimal/templates"
    templates.mkdir(parents=True)
    (root / "themes/minimal/theme.yaml").write_text("description: benchmark theme\n")
    wrap = MINIMAL_PAGE.replace("{site}", "{{{{ site.title }}}}")
    (templates / "page.html").write_text(
        wrap.format(
            title="{{ page.title }}",
            main="<article><h1>{{ page.title }}</h1>{{ page.content | safe }}"
            '<p>{% for tag in page.tags %}<a href="{{ tag.url }}">{{ tag.name }}</a> '
            "{% endfor %}</p></article>"
            + (
                '<ul>{% for other in related_pages(page) %}<li><a href="{{ other.url }}">'
                "{{ other.title }}</a></li>{% endfor %}</ul>"
                if related
                else ""
            ),
        )
    )
    listing = wrap.format(
        title="{{ listing.title }}",
        main='<h1>{{ listing.title }}</h1><ul>{% for entry in pages %}<li><a href="'
        '{{ entry.url }}">{{ entry.title }}</a></li>{% endfor %}</ul>'
        '{% if paginator.next_url %}<a href="{{ paginator.next_url }}">next</a>'
        "{% endif %}",
    )
    for name in ("list.html", "tags.html", "404.html"):
        (templates / name).write_text(listing)
    posts = root / "content/posts"
    posts.mkdir(parents=True)
    for page in pages:
        (posts / f"{page.slug}.md").write_text(_yaml_front(page) + page.body)
    return posts


def write_hugo(pages: list[CorpusPage], root: Path, related: bool = True) -> Path:
    root = _fresh(root)
    (root / "config.toml").write_text(
        'baseURL = "https://bench.example/"\ntitle = "Bench"\n'
        'disableKinds = ["RSS", "sitemap", "robotsTXT"]\n'
        "[pagination]\n  pagerSize = 10\n"
        "[markup.goldmark.renderer]\n  unsafe = true\n"
    )
    layouts = root / "layouts/_default"
    layouts.mkdir(parents=True)
    wrap = MINIMAL_PAGE.replace("{site}", "{{{{ .Site.Title }}}}")
    (layouts / "single.html").write_text(
        wrap.format(
            title="{{ .Title }}",
            main="<article><h1>{{ .Title }}</h1>{{ .Content }}<p>{{ range .Params.tags }}"
            '<a href="/tags/{{ . | urlize }}/">{{ . }}</a> {{ end }}</p></article>'
            # Hugo's own related content (its default indices: keywords, date, tags).
            + (
                f"<ul>{{{{ range first {RELATED} (.Site.RegularPages.Related .) }}}}<li><a "
                'href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>'
                if related
                else ""
            ),
        )
    )
    (layouts / "list.html").write_text(
        wrap.format(
            title="{{ .Title }}",
            main='<h1>{{ .Title }}</h1><ul>{{ range .Paginator.Pages }}<li><a href="'
            '{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>'
            '{{ with .Paginator.Next }}<a href="{{ .URL }}">next</a>{{ end }}',
        )
    )
    (layouts / "terms.html").write_text(
        wrap.format(
            title="{{ .Title }}",
            main='<ul>{{ range .Data.Terms.Alphabetical }}<li><a href="{{ .Page.RelPermalink }}">'
            "{{ .Page.Title }}</a></li>{{ end }}</ul>",
        )
    )
    posts = root / "content/posts"
    posts.mkdir(parents=True)
    for page in pages:
        (posts / f"{page.slug}.md").write_text(_yaml_front(page) + page.body)
    return posts


def write_pelican(pages: list[CorpusPage], root: Path) -> Path:
    root = _fresh(root)
    (root / "pelicanconf.py").write_text(
        'SITENAME = "Bench"\nSITEURL = ""\nPATH = "content"\nTIMEZONE = "UTC"\n'
        'THEME = "simple"\nDEFAULT_PAGINATION = 10\nARTICLE_URL = "posts/{slug}/"\n'
        'ARTICLE_SAVE_AS = "posts/{slug}/index.html"\nTAG_URL = "tags/{slug}/"\n'
        'TAG_SAVE_AS = "tags/{slug}/index.html"\nTAGS_SAVE_AS = "tags/index.html"\n'
        'CATEGORY_SAVE_AS = ""\nCATEGORIES_SAVE_AS = ""\nAUTHOR_SAVE_AS = ""\n'
        'AUTHORS_SAVE_AS = ""\nARCHIVES_SAVE_AS = ""\nFEED_ALL_ATOM = None\n'
        "CATEGORY_FEED_ATOM = None\nTRANSLATION_FEED_ATOM = None\nAUTHOR_FEED_ATOM = None\n"
        'AUTHOR_FEED_RSS = None\nDIRECT_TEMPLATES = ["index", "tags"]\n'
    )
    content = root / "content"
    content.mkdir()
    for page in pages:
        header = (
            f"Title: {page.title}\nDate: {page.date.isoformat()}\n"
            f"Tags: {', '.join(page.tags)}\nSlug: {page.slug}\n\n"
        )
        (content / f"{page.slug}.md").write_text(header + page.body)
    return content
