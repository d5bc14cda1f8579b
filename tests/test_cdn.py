"""A CDN in front of the assets: per-environment asset base, the page policy, and the URLs
a deploy hands over for purging (a file, and a webhook on loopback)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result, edit
from tests.ftp import PASSWORD, USER
from tests.test_deploy_after import webhook  # noqa: F401 - a fixture


def test_asset_base_per_environment(project: Path, sitegen: Callable[..., Result]) -> None:
    edit(
        project / "sites/brand/site.yaml",
        "environments:\n  staging:\n",
        "cdn:\n  asset_base: https://cdn.example.org\nenvironments:\n  staging:\n"
        "    cdn:\n      asset_base: https://staging-cdn.example.org\n",
    )
    assert sitegen(project, "build", "brand").code == 0
    html = (project / "build/brand/articles/alpha/index.html").read_text()
    css = re.search(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert css is not None and css.group(1).startswith("https://cdn.example.org/assets/main.")
    assert (project / "build/brand" / css.group(1).split(".org/", 1)[1]).is_file()
    assert "style-src &#39;self&#39; https://cdn.example.org" in html
    assert sitegen(project, "build", "brand", "--env", "staging").code == 0
    staged = (project / "build/brand/articles/alpha/index.html").read_text()
    assert 'href="https://staging-cdn.example.org/assets/main.' in staged


def test_deploy_lists_and_posts_the_urls_to_purge(
    project: Path,
    ftp_server: tuple[int, Path],
    sitegen: Callable[..., Result],
    webhook: tuple[str, list[dict[str, Any]]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    port, home = ftp_server
    url, received = webhook
    (home / "www").mkdir()
    monkeypatch.setenv("SITEGEN_FTP_PASSWORD", PASSWORD)
    edit(
        project / "sites/brand/site.yaml",
        "menu+:",
        f"cdn:\n  asset_base: https://cdn.example.org\n  purge_webhook: {url}\n"
        f"targets:\n  production:\n    url: ftp://{USER}@127.0.0.1:{port}/www\nmenu+:",
    )
    assert sitegen(project, "build", "brand").code == 0
    first = sitegen(
        project,
        "deploy",
        "brand",
        "--target",
        "production",
        "--yes",
        "--purge-list",
        str(tmp_path / "purge.txt"),
    )
    assert first.code == 0, first.err
    assert (tmp_path / "purge.txt").read_text() == ""  # new files: nothing cached
    assert received == []  # nothing to purge, no call
    edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, purged.")
    (project / "content/news/hello.md").unlink()
    assert sitegen(project, "build", "brand").code == 0
    second = sitegen(
        project,
        "deploy",
        "brand",
        "--target",
        "production",
        "--yes",
        "--purge-list",
        str(tmp_path / "purge.txt"),
    )
    assert second.code == 0, second.err
    urls = (tmp_path / "purge.txt").read_text().split()
    assert "https://brand.test/articles/gamma-ray/" in urls  # changed page
    assert "https://brand.test/news/hello/" in urls  # deleted page
    assert not any("index.html" in u for u in urls)
    assert received[-1]["urls"] == urls and received[-1]["site"] == "brand"
