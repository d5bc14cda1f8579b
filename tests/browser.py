"""Headless Chromium for tests: run a page, read back the DOM it leaves."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-popup-blocking",
]


def require(program: str) -> str:
    """The path of a real component; skip without it, but fail in CI, where the test
    command must have installed it."""
    found = shutil.which(program) or (program if os.path.exists(program) else None)
    if found is None:
        message = f"{program} is not installed (scripts/test installs it)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def chromium() -> str:
    return require("/usr/bin/chromium")


@contextmanager
def playwright_chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (no browser download), for tests that click
    and type."""
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


DESKTOP_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
"""What a visitor's browser says; headless Chromium's own agent is on the crawler list."""


def dump_dom(
    html: str,
    timeout: float = 90,
    budget_ms: int = 5000,
    user_agent: str | None = None,
    console: list[str] | None = None,
) -> str:
    """Load `html` from a file:// URL in headless Chromium; return the serialized DOM after
    its scripts ran. `console` receives what the pages wrote to the console (errors,
    Content-Security-Policy violations)."""
    binary = chromium()
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "page.html"
        page.write_text(html, encoding="utf-8")
        result = subprocess.run(
            [
                binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={folder}/profile",
                f"--virtual-time-budget={budget_ms}",
                *([f"--user-agent={user_agent}"] if user_agent else []),
                *(["--enable-logging=stderr", "--v=0"] if console is not None else []),
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    if result.returncode != 0:
        raise AssertionError(f"chromium failed ({result.returncode}): {result.stderr[-2000:]}")
    if console is not None:
        console += [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return result.stdout


def run_with_data(script: str, data: str, harness: str) -> Any:
    """Run `script` (a runtime source) and then `harness` in Chromium, with `data` (JSON) in
    a `<script type="application/json" id="data">`; the harness writes its JSON result into
    `#result`, which is returned parsed."""
    import html
    import json
    import re

    escaped = data.replace("</", "<\\/")  # keep the JSON inside its script element
    page = (
        f'<!doctype html><html><body><pre id="result">not run</pre>'
        f'<script type="application/json" id="data">{escaped}</script>'
        f"<script>{script}</script><script>{harness}</script></body></html>"
    )
    dom = dump_dom(page)
    match = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert match, dom[:2000]
    return json.loads(html.unescape(match.group(1)))


def browse_network(
    profile: Path, url: str, user_agent: str | None = None, budget_ms: int = 8000
) -> str:
    """The DOM of `url` in headless Chromium with a lasting profile (its cookies carry from
    one call to the next), every *.network.test host on loopback (Apache's name-based
    virtual hosts serve them, tests/apache.py)."""
    result = subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP *.network.test 127.0.0.1",
            *([f"--user-agent={user_agent}"] if user_agent else []),
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout
