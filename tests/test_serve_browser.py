"""`sitegen serve` in a real browser (Debian's Chromium driven by Playwright): a stylesheet
edit swaps the stylesheet without a reload, a build error shows over the last good page,
and a content edit reloads the page."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import edit
from tests.serving import serving


def test_a_page_follows_edits_without_a_manual_reload(project: Path, browser: object) -> None:
    alpha = project / "content/articles/alpha.md"
    with serving(project, "brand") as served:
        page = browser.new_page()  # type: ignore[attr-defined]
        problems: list[str] = []
        page.on(
            "console",
            # The browser asks every host for /favicon.ico; this fixture site has none.
            lambda message: (
                None
                if message.location["url"].endswith("/favicon.ico")
                else problems.append(f"{message.location['url']}: {message.text}")
            ),
        )
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(served.base + "/articles/alpha/")
        page.wait_for_function("() => document.readyState === 'complete'")
        color = "() => getComputedStyle(document.body).color"
        assert page.evaluate(color) == "rgb(136, 0, 51)"
        page.evaluate("() => { window.kept = 'this page was not reloaded'; }")

        edit(project / "themes/fancy/scss/_vars.scss", "#803", "#804")
        page.wait_for_function(
            "() => getComputedStyle(document.body).color === 'rgb(136, 0, 68)'", timeout=30_000
        )
        assert page.evaluate("() => window.kept") == "this page was not reloaded"
        assert page.evaluate("() => document.querySelectorAll('link[rel=stylesheet]').length") == 1

        edit(alpha, "title: Alpha", "title: [Alpha")
        overlay = page.wait_for_selector("#sitegen-build-error", timeout=30_000)
        assert "content/articles/alpha.md:3" in overlay.inner_text()
        assert "Alpha body text." in page.content()  # the last good page, under it

        edit(alpha, "title: [Alpha", "title: Alpha, fixed")
        page.wait_for_function("() => document.title.startsWith('Alpha, fixed')", timeout=30_000)
        assert page.evaluate("() => window.kept") is None  # reloaded
        assert page.query_selector("#sitegen-build-error") is None
        assert problems == [], problems  # no script errors, no Content-Security-Policy violation
