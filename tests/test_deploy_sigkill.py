"""`sitegen deploy` really killed (SIGKILL) at a spread of points of an update, against
real Debian FTP servers, with Apache serving the FTP root: after each kill a crawl finds no
page that references a missing asset, and no page that existed before missing except those
caught in the one-rename gap docs/deploy.md describes (at most one per connection, each
kept in the state folder); the rerun converges to the build and a second rerun has nothing
to do."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.apache import apache, fetch
from tests.conftest import Result, edit, tree
from tests.ftpd import FtpServer, proftpd, pure_ftpd

REFERENCE = re.compile(r"""(?:src|href)=["'](/[^"'#?]+)["']""")
ASSET = re.compile(r"\.(css|js|png|jpe?g|webp|avif|svg|gif|woff2?|ico|json)$")
KILL_AFTER = (1, 4, 9, 16, 24, 33, 43)
CONNECTIONS = 4
"""The deploy's default number of connections: each may be inside one page's rename gap."""
"""Kill once this many files of the web root have been written by the run."""


def written_since(root: Path, start: float) -> int:
    count = 0
    for folder, folders, files in os.walk(root):
        folders[:] = [name for name in folders if name != ".sitegen-state"]
        for name in files:
            try:
                if os.stat(os.path.join(folder, name)).st_mtime >= start:
                    count += 1
            except FileNotFoundError:
                pass  # renamed away while we looked
    return count


def crawl(base: str, pages: list[str]) -> list[str]:
    """Problems a visitor would meet: a page that should be there and is not, or an asset
    a served page references that is not served."""
    problems = []
    assets: set[str] = set()
    for page in pages:
        response = fetch(f"{base}/{page}")
        if response.status != 200:
            problems.append(f"{page}: {response.status}")
            continue
        assets.update(
            url
            for url in REFERENCE.findall(response.body.decode("utf-8", "replace"))
            if ASSET.search(url)
        )
    for url in sorted(assets):
        status = fetch(f"{base}{url}").status
        if status != 200:
            problems.append(f"{url}: {status}")
    return problems


@pytest.mark.parametrize("start", [pure_ftpd, proftpd], ids=["pure-ftpd", "proftpd"])
def test_sigkill_at_a_spread_of_points(
    start: Callable[..., AbstractContextManager[FtpServer]],
    project: Path,
    tmp_path: Path,
    sitegen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with start(tmp_path / "server") as server:
        edit(
            project / "sites/brand/site.yaml",
            "menu+:",
            f"targets:\n  production:\n    url: {server.url()}\nmenu+:",
        )
        environment = {
            **os.environ,
            "CI": "true",
            "SITEGEN_FTP_PASSWORD": server.password,
            "SITEGEN_CA_FILE": str(server.ca_file),
        }
        command = [
            sys.executable,
            "-m",
            "generator.cli",
            "--root",
            str(project),
            "deploy",
            "brand",
            "--target",
            "production",
            "--yes",
        ]

        def run() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                command, env=environment, capture_output=True, text=True, timeout=120
            )

        assert sitegen(project, "build", "brand").code == 0
        assert run().returncode == 0
        remote = server.home / "www"
        previous = tree(project / "build/brand")
        kept = [path for path in previous if path.endswith(".html")]
        killed_points = []
        with apache(remote) as base:
            for number, after in enumerate(KILL_AFTER):
                # A new version: every page changes (the stylesheet), a page comes.
                edit(project / "themes/plain/scss/main.scss", "{", f"{{ order: {number};")
                (project / f"content/articles/new-{number}.md").write_text(
                    f"---\ntitle: New {number}\n---\nNew.\n"
                )
                assert sitegen(project, "build", "brand").code == 0
                build = tree(project / "build/brand")
                began = time.time()
                process = subprocess.Popen(
                    command,
                    env=environment,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                while process.poll() is None and written_since(remote, began) < after:
                    time.sleep(0.002)
                if process.poll() is None:
                    os.kill(process.pid, signal.SIGKILL)
                    killed_points.append(after)
                process.communicate()
                problems = crawl(base, kept)
                objects = remote / ".sitegen-state/objects"
                in_gap = [
                    problem
                    for problem in problems
                    if problem.endswith(": 404")
                    and problem[:-5] in previous
                    and (objects / hashlib.sha256(previous[problem[:-5]]).hexdigest()).exists()
                ]
                assert [p for p in problems if p not in in_gap] == [], (after, server.name)
                assert len(in_gap) <= CONNECTIONS, (in_gap, after, server.name)
                rerun = run()
                assert rerun.returncode == 0, rerun.stderr
                assert "Traceback" not in rerun.stderr
                assert {
                    path: data
                    for path, data in tree(remote).items()
                    if not path.startswith(".sitegen-state/")
                } == build
                assert crawl(base, [p for p in build if p.endswith(".html")]) == []
                again = run()
                assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout
                assert not (remote / ".sitegen-state/lock").exists()
                kept = [path for path in build if path.endswith(".html")]
                previous = build
        assert len(killed_points) >= 4, killed_points  # most runs were really killed
