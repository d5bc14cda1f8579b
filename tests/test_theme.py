"""The demo theme as a brand would ship it: metadata for sharing and search (Open Graph,
Twitter card, JSON-LD), breadcrumbs, the current page marked in the navigation, a menu that
opens without JavaScript, thumbnails in listings, each brand's logo, the variant hero styled
as the tagline; and axe-core's WCAG A/AA rules (contrast included) passing on each page
type of every demo site in Chromium."""

from __future__ import annotations

import functools
import html
import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.browser import require

REPO = Path(__file__).resolve().parent.parent
AXE = REPO / ".servers/node/node_modules/axe-core/axe.min.js"
PAGES = {
    "trailhead": [
        "/",
        "/guides/",
        "/guides/hiking/layering/",
        "/news/trail-cleanup/",
        "/404.html",
        "/search/",
        # The repair-cta experiment's arm, as a visitor in that arm is served it.
        "/_variants/repair-cta-repair/guides/hiking/layering/",
    ],
    "harbor": ["/", "/seamanship/", "/care/"],
    "trailhead-alps": ["/"],
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from generator.cli import main

    out = tmp_path_factory.mktemp("demo-build")
    assert main(["--root", str(REPO), "build", "--out", str(out), "--quiet"]) == 0
    return out


def _json_ld(page: str) -> list[Any]:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    return [json.loads(block) for block in blocks]


def test_pages_carry_sharing_metadata_breadcrumbs_and_the_current_section(demo: Path) -> None:
    page = (demo / "trailhead/guides/hiking/first-day-hike/index.html").read_text()
    assert '<meta property="og:type" content="article">' in page
    assert (
        '<meta property="og:url" content="https://trailhead.example/guides/hiking/first-day-hike/">'
        in page
    )
    assert re.search(
        r'<meta property="og:image" content="https://trailhead\.example/assets/images/ridge\.[0-9a-f]+\.svg">',
        page,
    )
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    article, trail = _json_ld(page)
    assert article["@type"] == "Article" and article["headline"]
    assert article["datePublished"] and article["publisher"]["name"] == "Trailhead"
    assert [item["name"] for item in trail["itemListElement"]] == [
        "Home",
        "Guides",
        article["headline"],
    ]
    crumbs = re.search(r'<nav class="breadcrumbs" aria-label="Breadcrumb">(.*?)</nav>', page, re.S)
    assert crumbs and '<a href="/guides/">Guides</a>' in crumbs.group(1)
    assert '<span aria-current="page">' in crumbs.group(1)
    assert '<a href="/guides/" aria-current="true">Guides</a>' in page  # its section
    home = (demo / "trailhead/index.html").read_text()
    assert _json_ld(home)[0]["@type"] == "WebSite"
    assert '<a href="/guides/" aria-current' not in home


def test_listings_show_thumbnails_and_brands_their_logos(demo: Path) -> None:
    listing = (demo / "trailhead/guides/index.html").read_text()
    card = re.search(r'<article class="card with-thumbnail">.*?</article>', listing, re.S)
    assert card and 'href="/guides/hiking/first-day-hike/"' in card.group(0)
    logos = {
        re.search(
            r'class="brand" href="/"><img src="([^"]+)"', (demo / f"{site}/index.html").read_text()
        ).group(1)  # type: ignore[union-attr]
        for site in PAGES
    }
    assert len(logos) == 3  # each brand its own
    variant = (demo / "trailhead/_variants/seg-newsletter/index.html").read_text()
    assert re.search(r'<div class="tagline"><!--sg-slot--><p>Welcome from the newsletter', variant)


@pytest.fixture(scope="module")
def served(demo: Path) -> Iterator[Callable[[str], str]]:
    servers = {}
    for site in PAGES:
        handler = functools.partial(_Quiet, directory=str(demo / site))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[site] = server
    yield lambda site: f"http://127.0.0.1:{servers[site].server_address[1]}"
    for server in servers.values():
        server.shutdown()
        server.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def test_the_menu_opens_without_javascript_on_a_phone(
    served: Callable[[str], str], browser: Any
) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 375, "height": 700})
    page = context.new_page()
    page.goto(served("trailhead") + "/")
    assert not page.is_visible("#site-nav")
    page.click(".nav-toggle")
    assert page.is_visible("#site-nav a[href='/guides/']")


def test_every_page_type_passes_axe_in_chromium(served: Callable[[str], str], browser: Any) -> None:
    require(str(AXE))
    script = AXE.read_text()
    failures = {}
    # The pages' own policy would refuse axe's script; the policy is tested elsewhere.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    for site, urls in PAGES.items():
        for url in urls:
            page.goto(served(site) + url)
            page.add_script_tag(content=script)
            violations = page.evaluate(
                "() => axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})"
                ".then(r => r.violations.map(v => [v.id, v.nodes.length, v.nodes[0].html]))"
            )
            if violations:
                failures[f"{site}{url}"] = violations
    assert failures == {}, html.unescape(json.dumps(failures, indent=1))


def test_the_search_page_finds_pages_in_chromium(
    demo: Path, served: Callable[[str], str], browser: Any
) -> None:
    assert (demo / "trailhead/pagefind/pagefind-ui.js").is_file()
    manifest = json.loads((demo / ".sitegen/sites/trailhead/manifest.json").read_text())
    assert any(path.startswith("pagefind/index/") for path in manifest["files"])  # deployed too
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(served("trailhead") + "/search/")
    page.fill(".pagefind-ui__search-input", "layering")
    link = page.wait_for_selector(
        ".pagefind-ui__result-link[href='/guides/hiking/layering/']", timeout=30_000
    )
    assert link is not None and "Layering" in link.inner_text()
    # Pagefind's WebAssembly runs in its worker, which the page's <meta> policy does
    # not govern: the policy needs no 'wasm-unsafe-eval', and nothing is refused.
    assert problems == []
