"""The site's caching and security headers, per kind of file, from a real Apache."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from pathlib import Path

from tests.apache import apache, fetch
from tests.conftest import Result, edit


def assert_page_policy(html: str) -> None:
    """The page's <meta> policy, before any script, allows every inline script of the page
    (the runtime's, the page's speculation rules) by its hash, and nothing unsafe."""
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert meta is not None and html.index(meta.group(0)) < html.index("<script")
    policy = meta.group(1).replace("&#39;", "'")
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    assert "img-src 'self' data: https://img.example.org" in policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    scripts = re.findall(r"<script(?: type=\"speculationrules\")?>(.*?)</script>", html, re.DOTALL)
    assert len(scripts) >= 3  # runtime, speculation rules, footer
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert 'type="application/json" id="sitegen-config"' in html


def test_headers_per_kind_of_file(project: Path, sitegen: Callable[..., Result]) -> None:
    edit(
        project / "sites/brand/site.yaml",
        "menu+:",
        "http:\n  data_max_age: 120\n  csp_sources:\n    img-src: [https://img.example.org]\n"
        "menu+:",
    )
    assert sitegen(project, "build", "brand").code == 0
    site = project / "build/brand"
    manifest = json.loads((project / "build/.sitegen/sites/brand/manifest.json").read_text())
    css = next(path for path in manifest["files"] if re.search(r"\.[0-9a-f]{8}\.css$", path))
    data = next(path for path in manifest["files"] if path.startswith("_sg/rec/"))
    # What editors and tools leave next to the files: never served (h5bp's list).
    (site / "articles/alpha/index.html.bak").write_text("old")
    (site / "articles/index.html~").write_text("old")
    (site / "notes.orig").write_text("old")
    (site / "deploy.sh").write_text("#!/bin/sh")
    (site / ".git").mkdir()
    (site / ".git/config").write_text("[core]")
    with apache(site) as base:
        page = fetch(base + "/articles/alpha/")
        assert page.status == 200
        assert page.headers["Cache-Control"] == "no-cache"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert (
            page.headers["Content-Security-Policy"]
            == "frame-ancestors 'self'; object-src 'none'; base-uri 'self'"
        )
        assert_page_policy(page.body.decode())

        asset = fetch(f"{base}/{css}")
        assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert asset.headers["Content-Security-Policy"] is None
        assert asset.headers["X-Content-Type-Options"] == "nosniff"
        listing = fetch(f"{base}/{data}")
        assert listing.headers["Cache-Control"] == "public, max-age=120"
        assert listing.headers["Content-Type"].startswith("application/json")
        pixel = fetch(f"{base}/_sg/p.gif?e=view")
        assert pixel.headers["Cache-Control"] == "no-store"
        assert pixel.headers["Expires"] is None  # would contradict no-store
        feed = fetch(f"{base}/feed.xml")
        assert feed.status == 200 and feed.headers["Cache-Control"] == "public, max-age=3600"
        sitemap = fetch(f"{base}/sitemap.xml")
        assert sitemap.headers["Cache-Control"] == "no-cache"
        robots = fetch(f"{base}/robots.txt")
        assert robots.headers["Cache-Control"] == "public, max-age=86400"
        variant = fetch(f"{base}/", cookie="sg_x_hero-test=1.bold")
        assert variant.headers["Cache-Control"] == "private, no-cache"
        compressed = fetch(base + "/articles/alpha/", encoding="gzip")
        assert compressed.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(compressed.body) == page.body
        # Expires agrees with Cache-Control (a year for fingerprinted files).
        expires = parsedate_to_datetime(asset.headers["Expires"])
        assert (expires - parsedate_to_datetime(asset.headers["Date"])).days >= 364
        assert fetch(f"{base}/.htaccess").status == 403
        for path in (
            "_headers",
            "_redirects",
            "articles/alpha/index.html.bak",
            "articles/index.html~",
            "notes.orig",
            "deploy.sh",
            ".git/config",
        ):
            assert fetch(f"{base}/{path}").status in (403, 404), path


def test_netlify_headers_carry_the_same_policy(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    assert sitegen(project, "build", "brand").code == 0
    headers = (project / "build/brand/_headers").read_text()
    assert "/assets/*\n  Cache-Control: public, max-age=31536000, immutable" in headers
    assert "/_sg/p.gif\n  Cache-Control: no-store" in headers
    assert "/_sg/components/*\n  Cache-Control: public, max-age=31536000, immutable" in headers
    assert "/_sg/*" not in headers  # no rule that overlaps the pixel's
    assert "  Content-Security-Policy: frame-ancestors 'self';" in headers
    edit(project / "sites/brand/site.yaml", "menu+:", "http:\n  csp: false\nmenu+:")
    assert sitegen(project, "build", "brand").code == 0
    assert "Content-Security-Policy" not in (project / "build/brand/_headers").read_text()
    assert "Content-Security-Policy" not in (project / "build/brand/.htaccess").read_text()
    assert (
        "Content-Security-Policy"
        not in (project / "build/brand/articles/alpha/index.html").read_text()
    )


def test_precompressed_files(project: Path, sitegen: Callable[..., Result]) -> None:
    edit(project / "sites/brand/site.yaml", "menu+:", "http:\n  precompress: true\nmenu+:")
    assert sitegen(project, "build", "brand").code == 0
    site = project / "build/brand"
    page = site / "articles/alpha/index.html"
    twin = site / "articles/alpha/index.html.gz"
    assert gzip.decompress(twin.read_bytes()) == page.read_bytes()
    manifest = json.loads((project / "build/.sitegen/sites/brand/manifest.json").read_text())
    assert manifest["files"]["articles/alpha/index.html.gz"]["kind"] == "page"
    assert not (site / ".htaccess.gz").exists()  # routing files: never
    # A template change reaches the twin too (it depends on what its original read).
    edit(project / "themes/plain/templates/page.html", "<article>", "<article class=a>")
    assert sitegen(project, "build", "brand").code == 0
    assert gzip.decompress(twin.read_bytes()) == page.read_bytes()
    assert b"<article class=a>" in page.read_bytes()
    css = next(path for path in manifest["files"] if re.search(r"\.[0-9a-f]{8}\.css$", path))
    with apache(site) as base:
        served = fetch(base + "/articles/alpha/", encoding="gzip")
        assert served.headers["Content-Encoding"] == "gzip"
        assert served.headers["Content-Type"].startswith("text/html")
        assert served.body == twin.read_bytes()  # the file, not recompressed
        plain = fetch(base + "/articles/alpha/")
        assert plain.headers["Content-Encoding"] is None and plain.body == page.read_bytes()
        stylesheet = fetch(f"{base}/{css}", encoding="gzip")
        assert stylesheet.headers["Content-Type"].startswith("text/css")
        assert gzip.decompress(stylesheet.body) == (site / css).read_bytes()
        assert stylesheet.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        variant = fetch(base + "/", cookie="sg_x_hero-test=1.bold", encoding="gzip")
        assert (
            gzip.decompress(variant.body)
            == (site / "_variants/hero-test-bold/index.html").read_bytes()
        )
        assert variant.headers["Cache-Control"] == "private, no-cache"
