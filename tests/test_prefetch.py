"""Speculation rules from the traffic's next-page model, and their default without data;
checked as JSON, and in headless Chromium against a real Apache (the prefetch reaches the
access log)."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.apache import apache
from tests.browser import CHROMIUM_FLAGS, chromium
from tests.conftest import Result, edit


def rules_of(html: str) -> dict[str, Any]:
    found = re.findall(r'<script type="speculationrules">(.*?)</script>', html, re.DOTALL)
    assert len(found) == 1, html[:500]
    rules: dict[str, Any] = json.loads(found[0])
    return rules


def traffic(project: Path, sitegen: Callable[..., Result], tmp_path: Path) -> None:
    """30 visitors go from alpha to beta, 5 from alpha to gamma, 1 from alpha to /news/."""
    lines = []
    for visitor in range(36):
        second = (
            "/articles/beta/"
            if visitor < 30
            else ("/articles/gamma-ray/" if visitor < 35 else "/news/")
        )
        for offset, page in enumerate(("/articles/alpha/", second)):
            lines.append(
                json.dumps(
                    {
                        "time": 1780000000 + visitor * 100 + offset * 10,
                        "type": "view",
                        "page": page,
                        "visitor": f"v{visitor}",
                    }
                )
            )
    export = tmp_path / "export.jsonl"
    export.write_text("\n".join(lines) + "\n")
    result = sitegen(project, "analytics", "ingest", "brand", "--jsonl", str(export))
    assert result.code == 0, result.err


def test_rules_from_traffic_and_default(
    project: Path, sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    assert sitegen(project, "build", "brand").code == 0
    alpha = project / "build/brand/articles/alpha/index.html"
    default = rules_of(alpha.read_text())
    assert default == {
        "prefetch": [
            {
                "source": "document",
                "eagerness": "moderate",
                "where": {
                    "and": [
                        {"href_matches": "/*"},
                        {
                            "not": {
                                "href_matches": [
                                    "/_variants/*",
                                    "/_sg/*",
                                    "/*logout*",
                                    "/*log-out*",
                                    "/*signout*",
                                    "/*sign-out*",
                                    "/*logoff*",
                                ]
                            }
                        },
                    ]
                },
            }
        ]
    }

    traffic(project, sitegen, tmp_path)
    edit(
        project / "sites/brand/site.yaml",
        "menu+:",
        "prefetch:\n  threshold: 0.1\n  exclude: [/articles/gamma-ray/]\nmenu+:",
    )
    assert sitegen(project, "build", "brand").code == 0
    rules = rules_of(alpha.read_text())
    listed = rules["prefetch"][0]
    # beta: 30/36; gamma is likely enough but excluded; /news/ (1/36) is below 0.1.
    assert listed == {"source": "list", "urls": ["/articles/beta/"], "eagerness": "eager"}
    assert "/articles/gamma-ray/" in rules["prefetch"][1]["where"]["and"][1]["not"]["href_matches"]
    # a variant's file is served at its page's URL: the same rules (and so the same CSP
    # hash, which a swap from one file to the other keeps)
    variants = project / "build/brand/_variants"
    for variant in variants.rglob("index.html"):
        key, *page = variant.relative_to(variants).parts
        default_file = project.joinpath("build/brand", *page)
        assert rules_of(variant.read_text()) == rules_of(default_file.read_text()), key
    edit(project / "sites/brand/site.yaml", "threshold: 0.1", "threshold: 0.9")
    assert sitegen(project, "build", "brand").code == 0
    assert rules_of(alpha.read_text())["prefetch"][0]["source"] == "document"


def test_chromium_prefetches_the_likeliest_next_page(
    project: Path, sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    traffic(project, sitegen, tmp_path)
    edit(
        project / "sites/brand/site.yaml",
        "menu+:",
        "prefetch:\n  eagerness: immediate\n  links: none\nmenu+:",
    )
    assert sitegen(project, "build", "brand").code == 0
    with apache(project / "build/brand") as base, tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--virtual-time-budget=4000",
                "--dump-dom",
                f"{base}/articles/alpha/",
            ],
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        log = base.access_log.read_text()
    assert '"GET /articles/alpha/ HTTP/1.1" 200' in log
    assert '"GET /articles/beta/ HTTP/1.1" 200' in log, log  # prefetched, never visited
    assert "/articles/gamma-ray/" not in log
