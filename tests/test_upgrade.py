"""Upgrading sitegen loses nothing: the previous version's code (from this repository's
history) builds, deploys and ingests; this version's code then migrates, builds, deploys,
reads the events and rolls back to the old version (issue 14).

The previous version is sitegen 0.1.0 as it stood before 0.2.0's formats: config format
1, the remote pointer without its format, the same events schema."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, edit, jsonl, tree
from tests.ftp import PASSWORD, USER
from tests.test_rollback import published

PREVIOUS = "afb06855d063944bae86292a85f3cd959a2f7718"
"""The last commit of sitegen 0.1.0."""
REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.fixture
def previous_version(tmp_path: Path) -> Path:
    """The previous version's `generator` package, from the repository's history (a
    shallow clone lacks it: a failure, not a skip)."""
    archive = subprocess.run(
        ["git", "-C", str(REPOSITORY), "archive", PREVIOUS, "generator"], capture_output=True
    )
    assert archive.returncode == 0, (
        f"needs commit {PREVIOUS[:10]} in the repository's history (a full clone): "
        + archive.stderr.decode()
    )
    folder = tmp_path / "previous"
    folder.mkdir()
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def run_previous(previous: Path, project: Path, *arguments: str) -> str:
    environment = {**os.environ, "PYTHONPATH": str(previous), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "generator.cli", "--root", str(project), *arguments],
        cwd=previous,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def events_of(project: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(project / "build/.sitegen/events.sqlite") as connection:
        return connection.execute("SELECT * FROM events ORDER BY id").fetchall()


def without_footer(pages: dict[str, bytes]) -> dict[str, bytes]:
    """The files without their scripts: pages without script elements, the hashes that
    allow them (Content-Security-Policy) or the build version (which names the runtime's
    version), no .js files."""
    return {
        name: re.sub(
            rb"<script\b(?:(?!</script>).)*</script>|'sha256-[A-Za-z0-9+/=]+'|"
            rb"&#39;sha256-[A-Za-z0-9+/=]+&#39;|<meta name=\"sitegen:build\" content=\"\w+\">",
            b"",
            content,
            flags=re.S,
        )
        for name, content in pages.items()
        if not name.endswith(".js")
    }


def test_an_upgrade_keeps_pages_history_events_and_rollback(
    project: Path,
    previous_version: Path,
    ftp_server: tuple[int, Path],
    sitegen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    port, home = ftp_server
    monkeypatch.setenv("SITEGEN_FTP_PASSWORD", PASSWORD)
    site = project / "sites/brand/site.yaml"
    site.write_text(
        site.read_text()
        + f"targets:\n  production:\n    url: ftp://{USER}@127.0.0.1:{port}/brand\n"
    )
    export = tmp_path / "events.jsonl"
    export.write_text(
        "".join(
            json.dumps(
                {
                    "time": 1_780_000_000 + i,
                    "type": "view",
                    "page": "/",
                    "visitor": f"v{i}",
                    "variant": f"hero-test-{'bold' if i % 2 else 'control'}",
                }
            )
            + "\n"
            for i in range(20)
        )
    )
    # The previous version: build, deploy, ingest.
    assert "0.1.0" in run_previous(previous_version, project, "--version")
    run_previous(previous_version, project, "build", "brand")
    run_previous(previous_version, project, "deploy", "brand", "--target", "production", "--yes")
    run_previous(previous_version, project, "analytics", "ingest", "brand", "--jsonl", str(export))
    old_version = json.loads((project / "build/.sitegen/sites/brand/manifest.json").read_text())[
        "version"
    ]
    old_pages, old_served = tree(project / "build/brand"), published(home / "brand")
    old_events = events_of(project)
    old_journal = jsonl(home / "brand/.sitegen-state/journal.jsonl")

    # This version: migrate, build (the same pages but for the runtime, which 0.2.0 changed:
    # views send their referring host and campaign, cookies may be on a parent domain),
    # deploy those, read.
    assert sitegen(project, "migrate").code == 0
    assert sitegen(project, "build", "brand").code == 0
    new_pages = tree(project / "build/brand")
    assert without_footer(new_pages) == without_footer(old_pages)
    changed = [name for name in new_pages if new_pages[name] != old_pages.get(name)]
    assert changed and all(name.endswith((".html", ".js")) for name in changed)
    again = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
    assert again.code == 0, again.err
    assert f"{len(changed)} uploads" in again.out, again.out  # only the pages that changed
    assert published(home / "brand") != old_served
    upgraded = events_of(project)  # schema 4 added three columns, empty for old events
    assert [row[:-3] for row in upgraded] == old_events
    assert {row[-3:] for row in upgraded} == {("", "", "")}
    status = json.loads(sitegen(project, "experiments", "status", "brand", "--json").out)
    arms = status[0]["arms"]
    assert (arms["control"]["visitors"], arms["bold"]["visitors"]) == (10, 10)

    # A new version, then back to the one the previous sitegen deployed.
    edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, after the upgrade.")
    assert sitegen(project, "build", "brand").code == 0
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 0
    assert published(home / "brand") != old_served
    back = sitegen(
        project, "rollback", "brand", "--target", "production", "--to", old_version[:10], "--yes"
    )
    assert back.code == 0, back.err
    assert published(home / "brand") == old_served  # byte for byte
    journal = jsonl(home / "brand/.sitegen-state/journal.jsonl")
    assert journal[: len(old_journal)] == old_journal  # the history the old version wrote
    # The deploy right after the upgrade, the edit, and the rollback.
    assert [entry["kind"] for entry in journal[len(old_journal) :: 2]] == [
        "deploy",
        "deploy",
        "rollback",
    ]


ASSIGNMENT_CODE = {
    "0.1.0": "06f0f4dd2653ca184c75755508055664b8f742cc86df6faf375c66c0641ee89b",
    # 0.2.0: cookies on personalization.cookie_domain when it is set
    "0.2.0": "10aca85585923985850d397707cb725df741de6639c727d9a313e0c78e6f4f17",
}
"""ASSIGNMENT_VERSION -> the sha256 of assign.js and runtime.js it names."""


def test_the_assignment_code_is_the_one_its_version_names() -> None:
    """Build versions name the assignment code by ASSIGNMENT_VERSION, so that an upgrade
    leaves pages alone: a change to that code must raise the version (and be recorded
    here), or visitors' exposures would be attributed to the wrong code."""
    from generator.runtime.page_config import ASSIGNMENT_VERSION, runtime_digest

    assert ASSIGNMENT_CODE.get(ASSIGNMENT_VERSION) == runtime_digest(), (
        "generator/runtime/assign.js or runtime.js changed: raise ASSIGNMENT_VERSION in "
        "generator/runtime/page_config.py and record its digest in ASSIGNMENT_CODE"
    )
