"""Real visitors and crawlers in Chromium against Apache: what a canonical URL shows, when a
visit starts, when the server can route, and what a swap costs (issue 11)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from tests.apache import apache
from tests.conftest import Result, edit
from tests.test_runtime_browser import build_brand, visit

GOOGLEBOT = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36 (compatible; "
    "Googlebot/2.1; +http://www.google.com/bot.html)"
)
LIGHTHOUSE = (
    "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse"
)


def whole_page_rule(project: Path, when: str, page: str, template: str = "page.html") -> None:
    """A rule that gives `page` a template (so only a fetch can show it)."""
    edit(
        project / "sites/root/site.yaml",
        "rules:\n",
        f"rules:\n  whole:\n    when: {when}\n"
        f"    pages: [{page}]\n    then: {{template: {template}}}\n",
    )


def test_crawlers_are_never_enrolled_nor_swapped(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    whole_page_rule(project, "{condition: {visits: {$gte: 1}}}", "/articles/alpha/")
    docroot = build_brand(project, sitegen)
    for agent in (GOOGLEBOT, LIGHTHOUSE):
        with apache(docroot) as base:
            [home, article] = visit(
                base, docroot, ["/?sg=hero-test:bold", "/articles/alpha/"], user_agent=agent
            )
            log = base.access_log.read_text()
        for seen in (home, article):
            assert seen["assignment"]["crawler"] is True
            assert seen["cookies"] == ""  # no id, no arm, no visit
            assert not seen["swapped"] and not seen["filled"] and seen["robots"] is None
        assert "Default hero" in home["hero"]  # not even a forced arm
        assert "/_variants/" not in log and "/_sg/p.gif" not in log


def test_a_visitor_at_a_canonical_url_never_gets_noindex(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    whole_page_rule(project, "{condition: {visits: {$gte: 1}}}", "/articles/alpha/")
    docroot = build_brand(project, sitegen)
    with apache(docroot) as base:
        [swapped, routed] = visit(base, docroot, ["/articles/alpha/", "/articles/alpha/"])
    assert swapped["swapped"] and swapped["variant"] == "seg-rule-whole"
    assert not routed["swapped"] and routed["file"] == "seg-rule-whole"
    assert swapped["robots"] is None and routed["robots"] is None


def test_a_visit_is_per_browser_and_ends_after_30_idle_minutes(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    docroot = build_brand(project, sitegen)
    stale = {
        "id": "old",
        "pages": 3,
        "utm": {"source": "newsletter"},
        "referrer": "",
        "force": {},
        "last": 0,
    }
    with apache(docroot) as base:
        [landing, tab, article] = visit(
            base, docroot, ["/?utm_source=newsletter", "tab:/", "/articles/alpha/"]
        )
        [resumed] = visit(
            base,
            docroot,
            ["cookie:sg_visits=4", f"cookie:sg_visit={quote(json.dumps(stale))}", "/"],
        )
    assert landing["assignment"]["segments"] == ["newsletter"]
    # a second tab is the same visit: same id, the utm segment kept, page 2, not returning
    assert tab["visit"]["id"] == landing["visit"]["id"] == article["visit"]["id"]
    assert tab["assignment"]["segments"] == ["newsletter"] and tab["visit"]["pages"] == 2
    assert "sg_visits=1" in tab["cookies"] and article["visit"]["pages"] == 3
    # 30 minutes without a view (the analytics' rule): a new visit, without the old utm
    assert resumed["visit"]["id"] != "old" and resumed["visit"]["pages"] == 1
    assert "sg_visits=5" in resumed["cookies"]
    assert resumed["assignment"]["segments"] == ["returning"]


def test_history_segments_route_from_the_next_request(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    """The segment cookie a page writes already counts that page: after the first view,
    Apache serves every page right and the runtime neither swaps nor fills."""
    edit(
        project / "sites/root/site.yaml",
        "segments:\n",
        "segments:\n  red-reader:\n    condition: {history: {$elemMatch: {$eq: red}}}\n",
    )
    whole_page_rule(project, "red-reader", "/articles/beta/")
    edit(
        project / "sites/root/site.yaml",
        "pages: [/articles/beta/]",
        "pages: [/articles/beta/, /articles/gamma-ray/]",
    )
    docroot = build_brand(project, sitegen)
    with apache(docroot) as base:
        walk = visit(
            base,
            docroot,
            ["/articles/beta/", "/articles/alpha/", "/articles/beta/", "/articles/gamma-ray/", "/"],
        )
    assert [step["variant"] for step in walk] == [
        "",
        "",
        "seg-red-reader",
        "seg-red-reader",
        walk[4]["variant"],
    ]
    assert walk[2]["file"] == walk[3]["file"] == "seg-red-reader"  # routed by Apache
    assert [step["swapped"] or step["filled"] for step in walk[1:]] == [False] * 4


def test_a_swapped_view_counts_once_and_loads_lazy_components_once(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    from tests.test_lazy import lazy_site

    lazy_site(project)
    whole_page_rule(project, "{condition: {visits: {$gte: 1}}}", "/articles/lazy/", "lazy.html")
    docroot = build_brand(project, sitegen)
    with apache(docroot) as base:
        [swapped] = visit(base, docroot, ["/articles/lazy/"])
        log = base.access_log.read_text()
    assert swapped["swapped"] and swapped["visit"]["pages"] == 1
    fetched = re.findall(r'"GET (/_sg/components/[^ ]+) ', log)
    assert fetched and len(fetched) == len(set(fetched)), fetched
    views = [line for line in log.splitlines() if "/_sg/p.gif?e=view" in line]
    assert len(views) == 1 and "v=seg-rule-whole" in views[0], views


BROWSERS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) GSA/343.0.695551749 Mobile/15E148 Safari/604.1",
)


def test_the_runtimes_crawler_pattern_comes_from_the_analytics_list() -> None:
    """The runtime cannot carry the whole crawler list (10 KB gzipped) in its 4 KB; its
    pattern must still catch the list's crawlers that run JavaScript, most of the list, and
    no browser."""
    from crawleruseragents import CRAWLER_USER_AGENTS_DATA, is_crawler

    from generator.runtime import RUNTIME_DIR

    source = (RUNTIME_DIR / "runtime.js").read_text()
    found = re.search(r"var CRAWLER = /(.+)/i;", source)
    assert found is not None
    pattern = re.compile(found.group(1), re.I)
    examples = [agent for entry in CRAWLER_USER_AGENTS_DATA for agent in entry.get("instances", [])]
    caught = sum(bool(pattern.search(agent)) for agent in examples)
    assert caught / len(examples) >= 0.85, (caught, len(examples))
    for renderer in (
        GOOGLEBOT,
        LIGHTHOUSE,
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (X11; Linux x86_64) "
        "AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 "
        "Safari/537.36",
        "Mozilla/5.0 (compatible; YandexRenderResourcesBot/1.0)",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1)",
    ):
        assert is_crawler(renderer) and pattern.search(renderer), renderer
    for browser in BROWSERS:
        assert not is_crawler(browser) and not pattern.search(browser), browser
    # every word of the pattern names crawlers of the list
    for word in found.group(1).split("|"):
        assert any(re.search(word, agent, re.I) for agent in examples), word


def test_growthbooks_query_string_override_forces_an_arm_for_the_visit(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    docroot = build_brand(project, sitegen)
    with apache(docroot) as base:
        [forced, later, out_of_range] = visit(
            base, docroot, ["/?hero-test=1", "/", "/?hero-test=7"]
        )
    assert forced["variant"] == "hero-test-bold" and "BOLD HERO" in forced["hero"]
    assert later["variant"] == "hero-test-bold" and later["file"] == "hero-test-bold"
    assert out_of_range["variant"] == "hero-test-bold"  # ignored: the visit's arm stays


def test_a_visitor_at_a_missing_address_is_counted_on_the_404_page(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    """Apache answers any missing address with the 404 page; its view is reported under
    /404.html, so experiments can use "reached the 404 page" as a guardrail (config format
    2 turns this on; the fixture's format 1 site opts in)."""
    edit(
        project / "sites/brand/site.yaml",
        "theme: fancy\n",
        "theme: fancy\ncompat:\n  not_found_page_runtime: true\n",
    )
    docroot = build_brand(project, sitegen)
    with apache(docroot) as base:
        [missing] = visit(base, docroot, ["/articles/no-such-article/"])
        log = base.access_log.read_text()
    assert '"GET /articles/no-such-article/ HTTP/1.1" 404' in log
    views = [line for line in log.splitlines() if "/_sg/p.gif?e=view" in line]
    assert len(views) == 1 and "&p=%2F404.html&" in views[0], views
    assert f"&u={missing['assignment']['visitor']}&" in views[0]
