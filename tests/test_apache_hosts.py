"""The generated .htaccess on the Apache configurations shared hosts run (issue 11, items 10
and 11): every one serves the site; routing where the modules allow it, the runtime's
fallback where not."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.apache import FULL, apache, fetch
from tests.conftest import Result, edit
from tests.test_runtime_browser import visit

LIMITED = "FileInfo AuthConfig Limit Indexes"
"""AllowOverride without Options (a common shared-host setting)."""

HOSTS = {
    "AllowOverride All": (FULL, "All", None),
    "AllowOverride without Options": (FULL, LIMITED, None),
    "AllowOverride FileInfo Indexes (no AuthConfig)": (FULL, "FileInfo Indexes", None),
    "Options None": (FULL, "All", "None"),
    "Options None, AllowOverride without Options": (FULL, LIMITED, "None"),
    "no mod_rewrite": (tuple(m for m in FULL if m != "rewrite"), "All", None),
    "no mod_headers": (tuple(m for m in FULL if m != "headers"), "All", None),
    "no mod_expires": (tuple(m for m in FULL if m != "expires"), "All", None),
}


@pytest.mark.parametrize("host", list(HOSTS))
def test_every_host_configuration_serves_the_site(
    project: Path, sitegen: Callable[..., Result], host: str
) -> None:
    modules, allow_override, options = HOSTS[host]
    assert sitegen(project, "build", "brand").code == 0
    site = project / "build/brand"
    default = (site / "index.html").read_bytes()
    bold = (site / "_variants/hero-test-bold/index.html").read_bytes()
    routes = "headers" in modules
    with apache(site, modules, allow_override, options) as base:
        home = fetch(base + "/")
        assert home.status == 200 and home.body == default
        article = fetch(base + "/articles/alpha/", cookie="sg_x_hero-test=1.bold")
        assert article.status == 200
        assert article.body == (site / "articles/alpha/index.html").read_bytes()
        routed = fetch(base + "/", cookie="sg_id=a; sg_x_hero-test=1.bold")
        assert routed.status == 200
        # routed only where Vary: Cookie can go with it; else the runtime fills the slot
        assert routed.body == (bold if routes else default)
        if routes:
            assert "Cookie" in routed.headers["Vary"]
            assert routed.headers["Cache-Control"] == "private, no-cache"
        missing = fetch(base + "/no/such/page/")
        assert missing.status == 404 and missing.body == (site / "404.html").read_bytes()
        assert fetch(base + "/assets/").status in (403, 404)  # never listed
        (site / "notes.bak").write_text("secret")
        (site / "_headers").write_text("x")
        for refused in ("/notes.bak", "/_headers", "/.htaccess"):
            assert fetch(base + refused).status in (403, 404), refused
        direct = fetch(base + "/_variants/hero-test-bold/index.html")
        assert direct.status == 200
        if routes:
            assert direct.headers["X-Robots-Tag"] == "noindex"


def test_a_hardened_host_still_shows_each_visitor_their_arm(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    """No mod_headers (so no routing) and no Options: Chromium gets the arm from the page's
    own <template>, no request, no swap."""
    assert sitegen(project, "build", "brand").code == 0
    docroot = project / "build/brand"
    modules = tuple(m for m in FULL if m not in ("headers", "rewrite"))
    with apache(docroot, modules, LIMITED, "None") as base:
        [first, again] = visit(base, docroot, ["/?sg=hero-test:bold", "/"])
    for seen in (first, again):
        assert seen["variant"] == "hero-test-bold" and "BOLD HERO" in seen["hero"]
        assert seen["file"] == "" and seen["filled"] and not seen["swapped"]


def test_precompressed_pages_keep_their_routing_headers(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    edit(project / "sites/brand/site.yaml", "menu+:", "http:\n  precompress: true\nmenu+:")
    assert sitegen(project, "build", "brand").code == 0
    site = project / "build/brand"
    with apache(site) as base:
        for cookie, file in (
            (None, "index.html"),
            ("sg_x_hero-test=1.bold", "_variants/hero-test-bold/index.html"),
        ):
            served = fetch(base + "/", cookie=cookie, encoding="gzip")
            assert served.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(served.body) == (site / file).read_bytes()
            assert "Cookie" in served.headers["Vary"], (cookie, served.headers)
            assert served.headers["Cache-Control"] == "private, no-cache"


def test_apache_options_let_precompression_work_where_options_are_none(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    """mod_rewrite (which serves the .gz twins) needs a symlinks option: a host that allows
    Options in .htaccess gets SymLinksIfOwnerMatch from `http.apache_options`."""
    edit(
        project / "sites/brand/site.yaml",
        "menu+:",
        "http:\n  precompress: true\n  apache_options: true\nmenu+:",
    )
    assert sitegen(project, "build", "brand").code == 0
    site = project / "build/brand"
    assert "Options -Indexes -MultiViews +SymLinksIfOwnerMatch" in (site / ".htaccess").read_text()
    with apache(site, FULL, "All", "None") as base:
        served = fetch(base + "/", cookie="sg_x_hero-test=1.bold", encoding="gzip")
        assert served.status == 200 and served.headers["Content-Encoding"] == "gzip"
        assert (
            gzip.decompress(served.body)
            == (site / "_variants/hero-test-bold/index.html").read_bytes()
        )
        assert fetch(base + "/assets/").status in (403, 404)
