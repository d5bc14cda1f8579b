"""`sitegen build` really killed (SIGKILL: no `finally`, no `except` runs) at a spread of
points of an incremental build: while rendering, between the renames of the commit, while
writing manifests and caches. After each kill the published trees are either exactly the
previous build's or half committed with the commit's journal on disk; the next build
finishes the job, its output equals a clean build's, and the build after it renders
nothing."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import edit, tree

ROOT = Path(__file__).resolve().parent.parent
SITES = ("brand", "other", "region")

KILLER = """
import os, signal, sys
sys.path.insert(0, {root!r})
import generator.pipeline.workers as workers
from generator.cli import main

where, count = {where!r}, {count}
calls = [0]

def counted(real):
    def call(*arguments, **keywords):
        calls[0] += 1
        if calls[0] == count:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*arguments, **keywords)
    return call

if where == "write":        # a file rendered into the staging tree
    workers.write_file = counted(workers.write_file)
else:                       # any rename: caches, the commit's journal and moves, manifests
    os.replace = counted(os.replace)
sys.exit(main(["--root", {project!r}, "build", "--jobs", "1", "-q"]))
"""

POINTS = [
    ("write", 1),
    ("write", 7),
    ("replace", 1),
    ("replace", 3),
    ("replace", 6),
    ("replace", 10),
    ("replace", 15),
    ("replace", 22),
    ("replace", 30),
    ("replace", 38),
]


def sitegen(project: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); "
            "from generator.cli import main; sys.exit(main(sys.argv[2:]))",
            str(ROOT),
            "--root",
            str(project),
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def published(project: Path) -> dict[str, dict[str, bytes]]:
    return {site: tree(project / "build" / site) for site in SITES}


@pytest.mark.parametrize(("where", "count"), POINTS, ids=[f"{w}-{n}" for w, n in POINTS])
def test_a_build_killed_anywhere_is_finished_by_the_next(
    project: Path, where: str, count: int
) -> None:
    assert sitegen(project, "build", "-q").returncode == 0
    before = published(project)
    # Every page changes (the footer), one page goes away, one is new.
    edit(project / "themes/plain/templates/partials/footer.html", "<footer>", "<footer id=f>")
    (project / "content/articles/gamma.md").unlink()
    shutil.copy(project / "content/articles/alpha.md", project / "content/articles/eta.md")
    edit(project / "content/articles/eta.md", "title: Alpha", "title: Eta")
    clean = sitegen(project, "build", "--clean", "--out", str(project / "clean"), "-q")
    assert clean.returncode == 0, clean.stderr
    expected = {site: tree(project / "clean" / site) for site in SITES}
    assert all(expected[site] != before[site] for site in SITES)

    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLER.format(root=str(ROOT), where=where, count=count, project=str(project)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    # Each site is the previous build or the new one, whole, unless its commit's journal
    # is on disk (the next build replays it before anything else).
    half = {
        journal.parent.name for journal in (project / "build/.sitegen/sites").glob("*/commit.json")
    }
    after = published(project)
    for site in set(SITES) - half:
        assert after[site] in (before[site], expected[site]), site

    rerun = sitegen(project, "build")
    assert rerun.returncode == 0, rerun.stderr
    assert not list((project / "build/.sitegen/sites").glob("*/commit.json"))
    staging = project / "build/.sitegen/staging"
    assert not staging.exists() or list(staging.rglob("*")) == []
    assert published(project) == expected
    again = sitegen(project, "build")
    assert again.returncode == 0 and " 0 rendered" in again.stdout, again.stdout
