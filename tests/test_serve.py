"""`sitegen serve`: the preview it serves, the rebuilds after edits and what pages are told,
the last good build kept through an error, and variants routed as the `.htaccess` routes
them (real Apache, for every routed URL of the demo)."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.hosting.routing import CookieTest, Route, choose
from generator.serve.server import LIVE_TAG, Served, _resolve
from tests.apache import apache, fetch
from tests.conftest import Result, demo_copy, edit
from tests.serving import EventStream, get, serving


def test_serve_rebuilds_on_edits_and_keeps_the_last_good_build(project: Path) -> None:
    alpha = project / "content/articles/alpha.md"
    with serving(project, "brand") as served:
        status, headers, body = get(served.base + "/articles/alpha/")
        assert status == 200 and b"Alpha body text." in body
        assert body.count(LIVE_TAG) == 1 and body.index(LIVE_TAG) < body.index(b"</head>")
        assert headers["Cache-Control"] == "no-store"
        assert (project / "build-preview/brand/articles/alpha/index.html").is_file()
        assert not (project / "build").exists()  # never the publishable build folder

        stream = EventStream(served.base)
        edit(alpha, "Alpha body text.", "Alpha body, edited.")
        assert stream.next()[0] == "reload"
        assert b"Alpha body, edited." in get(served.base + "/articles/alpha/")[2]

        # Only a stylesheet changed: pages swap it in place.
        edit(project / "themes/fancy/scss/_vars.scss", "#803", "#804")
        assert stream.next()[0] == "css"

        # A broken front matter: the error, with its file and line, to open pages and to
        # pages opened later; the last good page stays served.
        edit(alpha, "title: Alpha", "title: [Alpha")
        event, data = stream.next()
        assert event == "failed"
        assert re.search(r"content/articles/alpha\.md:\d+", data["message"]), data
        assert b"Alpha body, edited." in get(served.base + "/articles/alpha/")[2]
        late = EventStream(served.base)
        assert late.next() == (event, data)

        # Fixed back to what was served: nothing to reload, the overlay goes.
        edit(alpha, "title: [Alpha", "title: Alpha")
        assert stream.next()[0] == "fixed"
        edit(alpha, "title: Alpha", "title: Alpha again")
        assert stream.next()[0] == "reload"
        assert b"Alpha again" in get(served.base + "/articles/alpha/")[2]
        late.close()
        stream.close()
    printed = "".join(served.output)
    assert "build failed, still serving the last good build" in printed
    assert "Traceback" not in printed


def test_serve_refuses_what_the_htaccess_refuses(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "guide").mkdir(parents=True)
    (site / "guide/index.html").write_text("guide")
    (site / "empty").mkdir()
    (site / ".sitegen-state").mkdir()
    (site / ".sitegen-state/manifest.json").write_text("{}")
    (site / "notes.bak").write_text("old")
    (site / "_variants/v").mkdir(parents=True)
    (site / "_variants/v/index.html").write_text("variant")
    (site / "index.html").write_text("home")
    route = Route("/", "_variants/v/index.html", (CookieTest("sg_seg", "([^;]*\\.)?a(\\.[^;]*)?"),))
    served = Served(site, (route,))
    assert _resolve(served, "/", "") == site / "index.html"
    assert _resolve(served, "/", "x=1; sg_seg=a.b") == site / "_variants/v/index.html"
    assert _resolve(served, "/", "sg_seg=ab") == site / "index.html"  # whole ids only
    assert _resolve(served, "/guide", "") == "/guide/"
    assert _resolve(served, "/guide/", "") == site / "guide/index.html"
    for refused in (
        "/empty",
        "/empty/",
        "/.sitegen-state/manifest.json",
        "/notes.bak",
        "/../site/index.html",
        "/guide/../index.html",
        "/missing/",
        "//etc/passwd",
        "/guide\\index.html",
        "/index.html\0",
    ):
        assert _resolve(served, refused, "") is None, refused


def _cookie_headers(model: tuple[Route, ...], seed: int) -> list[str]:
    """Cookie headers that pass each route's tests, and random mixes of every value the
    routes test (other bucket versions and arms, segment lists, unrelated cookies)."""
    values: dict[str, set[str]] = {}
    headers = [""]
    for route in model:
        cookies: dict[str, str] = {}
        for test in route.tests:
            literal = re.sub(r"\\(.)", r"\1", test.pattern)
            segment = re.fullmatch(r"\(\[\^;\]\*\.\)\?(.*)\(\.\[\^;\]\*\)\?", literal)
            value = segment.group(1) if segment else literal
            cookies[test.name] = f"{cookies[test.name]}.{value}" if test.name in cookies else value
            values.setdefault(test.name, set()).add(value)
        headers.append("; ".join(f"{name}={value}" for name, value in cookies.items()))
    chance = random.Random(seed)
    for _ in range(40):
        parts = ["sg_id=abc"]
        for name, found in sorted(values.items()):
            if chance.random() < 0.3:
                continue
            options = sorted(found)
            if name.endswith("seg"):
                picked = sorted(chance.sample(options, chance.randint(1, len(options))))
                parts.append(f"{name}={'.'.join(picked)}")
            else:
                value = chance.choice([*options, "1.-", "9." + options[0].split(".", 1)[1]])
                parts.append(f"{name}={value}")
        chance.shuffle(parts)
        headers.append("; ".join(parts))
    return headers


@pytest.mark.parametrize("site", ["trailhead", "trailhead-alps", "harbor"])
def test_serve_routes_every_demo_variant_as_apache_does(tmp_path: Path, site: str) -> None:
    root = demo_copy(tmp_path / "demo")
    with serving(root, site) as served:
        folder = root / "build-preview" / site
        document = json.loads(
            (root / f"build-preview/.sitegen/sites/{site}/routes.json").read_text()
        )
        model = tuple(
            Route(e["url"], e["path"], tuple(CookieTest(*t) for t in e["tests"])) for e in document
        )
        assert model, "the demo site routes variants"
        urls = sorted({route.url for route in model})
        compared = variants = 0
        with apache(folder) as base:
            for url in [*urls, "/feed.xml", "/no/such/page/"]:
                for cookie in _cookie_headers(model, seed=len(url)):
                    expected = fetch(base + url, cookie=cookie or None)
                    status, _, body = get(served.base + url, cookie or None)
                    assert status == expected.status, (url, cookie)
                    assert body.replace(LIVE_TAG, b"") == expected.body, (url, cookie)
                    compared += 1
                    variants += choose(model, url, cookie) is not None
        assert variants > len(urls)  # the cookies did pick variants, not just defaults
        assert compared > 40 * len(urls)


def test_serve_names_the_buildable_descendants_of_an_abstract_site(
    tmp_path: Path, sitegen: Callable[..., Result]
) -> None:
    root = demo_copy(tmp_path / "demo")
    for command in ("serve", "build"):
        result = sitegen(root, command, "northwind")
        assert result.code == 1
        assert "site 'northwind' is abstract" in result.err
        assert "harbor, trailhead, trailhead-alps" in result.err
