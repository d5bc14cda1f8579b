"""The generated .htaccess against a real Apache: cookies pick the variant at the default URL,
headers keep caches and search engines right."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.apache import apache, fetch
from tests.conftest import Result


def test_apache_serves_the_variant_the_cookies_name(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    assert sitegen(project, "build", "brand").code == 0
    site = project / "build/brand"
    default_bytes = (site / "index.html").read_bytes()
    bold_bytes = (site / "_variants/hero-test-bold/index.html").read_bytes()
    with apache(site) as base:
        plain = fetch(base + "/")
        assert plain.status == 200 and plain.body == default_bytes
        assert "Cookie" in plain.headers["Vary"]
        assert plain.headers["Cache-Control"] == "private, no-cache"
        assert plain.headers["X-Robots-Tag"] is None

        bold = fetch(base + "/", cookie="sg_id=abc; sg_x_hero-test=1.bold")
        assert bold.body == bold_bytes
        assert "Cookie" in bold.headers["Vary"]
        assert bold.headers["Cache-Control"] == "private, no-cache"
        assert bold.headers["X-Robots-Tag"] is None  # the default URL stays indexable

        both = fetch(base + "/", cookie="sg_seg=newsletter.returning; sg_x_hero-test=1.bold")
        assert both.body == bold_bytes  # bold wins the slot: that combination's file

        stale = fetch(base + "/", cookie="sg_x_hero-test=0.bold")  # old bucket version
        assert stale.body == default_bytes

        direct = fetch(base + "/_variants/hero-test-bold/index.html")
        assert direct.body == bold_bytes
        assert direct.headers["X-Robots-Tag"] == "noindex"
        assert "Cookie" in direct.headers["Vary"]

        untouched = fetch(base + "/articles/alpha/", cookie="sg_x_hero-test=1.bold")
        assert untouched.status == 200
        assert "Cookie" not in (untouched.headers["Vary"] or "")
        assert untouched.headers["Cache-Control"] == "no-cache"  # the policy's, not private

        (site / ".sitegen-state").mkdir()
        (site / ".sitegen-state/manifest.json").write_text("{}")
        assert fetch(base + "/.sitegen-state/manifest.json").status == 404  # deploy state
        (site / ".well-known").mkdir()
        (site / ".well-known/challenge").write_text("ok")
        assert fetch(base + "/.well-known/challenge").status == 200

        missing = fetch(base + "/no/such/page/")
        assert missing.status == 404
        assert missing.body == (site / "404.html").read_bytes()


def test_the_demo_network_routes_under_apache(
    tmp_path: Path, sitegen: Callable[..., Result]
) -> None:
    repo = Path(__file__).resolve().parent.parent
    assert sitegen(repo, "build", "--out", str(tmp_path)).code == 0
    trailhead = tmp_path / "trailhead"
    guide = "guides/hiking/layering/index.html"
    with apache(trailhead) as base:
        served = fetch(base + "/guides/hiking/layering/", cookie="sg_x_repair-cta=1.repair")
        assert served.body == (trailhead / "_variants/repair-cta-repair" / guide).read_bytes()
        assert b"cta-repair" in served.body
        plain = fetch(base + "/guides/hiking/layering/")
        assert plain.body == (trailhead / guide).read_bytes()
        assert "Cookie" in plain.headers["Vary"]
        news = fetch(base + "/", cookie="sg_seg=newsletter.returning")
        # both rules target the hero; the newsletter one has the higher priority
        assert b"Welcome from the newsletter" in news.body
        untouched = fetch(base + "/care/", cookie="sg_x_repair-cta=1.repair")
        assert "Cookie" not in (untouched.headers["Vary"] or "")
    harbor = tmp_path / "harbor"
    with apache(harbor) as base:
        knots = fetch(base + "/", cookie="sg_x_harbor-hero=1.knots")
        assert b"Knot of the week" in knots.body
