"""A deploy killed at every operation index of a ~200-file site (real FTP server on
loopback): at each kill point no page on the server references a missing asset, and one
rerun makes the server equal the build, uploading only what had not arrived."""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from generator.deploy.execute import Executor
from generator.deploy.remote import Remote
from tests.conftest import Result, edit, tree
from tests.ftp import serving_process

REFERENCE = re.compile(rb"""(?:src|href|srcset)=["']([^"']+)["']""")
ASSET = re.compile(r"\.(css|js|png|jpe?g|webp|avif|svg|gif|woff2?|ico)$")
EXTRA_ARTICLES = 55


def published(remote: Path) -> dict[str, bytes]:
    return {
        path: data for path, data in tree(remote).items() if not path.startswith(".sitegen-state/")
    }


def missing_assets(remote: Path) -> list[str]:
    """(page, asset) pairs where a page on the server references an asset it lacks."""
    missing = []
    for page in remote.rglob("*.html"):
        for match in REFERENCE.finditer(page.read_bytes()):
            for candidate in match.group(1).decode().split(","):
                url = candidate.strip().split(" ")[0].split("?")[0].split("#")[0]
                if (
                    url.startswith("/")
                    and not url.startswith("//")
                    and ASSET.search(url)
                    and not (remote / url.lstrip("/")).is_file()
                ):
                    missing.append(f"{page.relative_to(remote)} -> {url}")
    return missing


@pytest.fixture
def big_site(deployable: tuple[Path, Path], sitegen: Callable[..., Result]) -> tuple[Path, Path]:
    project, remote = deployable
    for number in range(EXTRA_ARTICLES):
        (project / f"content/articles/extra-{number}.md").write_text(
            f"---\ntitle: Extra {number}\ntags: [red]\n---\nBody {number}, see "
            "[alpha](/articles/alpha/).\n"
        )
    assert sitegen(project, "build", "brand").code == 0
    return project, remote


def kill_at(monkeypatch: pytest.MonkeyPatch, index: int) -> None:
    """The deploy dies (as under SIGKILL: nothing more is written) when it reaches operation
    `index`."""
    real = Executor.__call__
    lock = threading.Lock()
    count = [0]

    def dying(self: Executor, *arguments: Any) -> None:
        with lock:
            count[0] += 1
            reached = count[0] > index
        if reached:
            raise KeyboardInterrupt(f"killed at operation {index}")
        real(self, *arguments)

    monkeypatch.setattr(Executor, "__call__", dying)


def kill_at_change(monkeypatch: pytest.MonkeyPatch, index: int) -> None:
    """The deploy dies at its `index`-th change to the server (an upload, a rename, a
    removal, its own state included): inside operations, between their steps."""
    lock = threading.Lock()
    count = [0]
    for name in ("put", "rename", "remove"):
        real = getattr(Remote, name)

        def dying(self: Remote, *arguments: Any, real: Any = real) -> None:
            with lock:
                count[0] += 1
                reached = count[0] > index
            if reached:
                raise KeyboardInterrupt(f"killed at change {index}")
            real(self, *arguments)

        monkeypatch.setattr(Remote, name, dying)


WORKERS = 3
"""Kill points run in this many forked processes at once, each with its own FTP server,
copy of the project and remote folder: a deploy mostly waits on round trips, so three
share two cores well."""


def run_cli(project: Path, *arguments: str) -> Result:
    """The command line in-process with its own output buffers (pytest's capture is shared
    by the forked workers)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--root", str(project), *arguments])
    return Result(code, out.getvalue(), err.getvalue())


def kill_and_resume(
    project: Path,
    remote: Path,
    sitegen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    snapshot: Path,
    points: Callable[[int], range] = range,
    killer: Callable[[pytest.MonkeyPatch, int], None] = kill_at,
) -> int:
    """Kill the deploy at each point (by default every operation index), from the same
    starting point; returns the number of operations. The points are shared out among
    `WORKERS` processes."""
    plan = sitegen(project, "deploy", "brand", "--target", "production", "--dry-run").out
    operations = len(re.findall(r"^  (upload|restore|copy|delete) ", plan, re.MULTILINE))
    assert operations > 0
    chosen = list(points(operations))
    context = multiprocessing.get_context("fork")
    workers = []
    for number in range(WORKERS):
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_report,
            args=(
                sender,
                project,
                remote,
                snapshot,
                chosen[number::WORKERS],
                operations,
                killer,
                number,
            ),
        )
        process.start()
        workers.append((process, receiver))
    problems: list[str] = []
    for number, (process, receiver) in enumerate(workers):
        problems += receiver.recv() if receiver.poll(1800) else [f"worker {number}: no answer"]
        process.join()
    assert problems == [], problems[:3]
    return operations


def _report(sender: Any, *arguments: Any) -> None:
    try:
        sender.send(_kill_points(*arguments))
    except BaseException as error:  # noqa: BLE001 - the parent must hear of anything
        sender.send([f"{type(error).__name__}: {error}"])


def _kill_points(
    project: Path,
    remote: Path,
    snapshot: Path,
    chosen: list[int],
    operations: int,
    killer: Callable[[pytest.MonkeyPatch, int], None],
    number: int,
) -> list[str]:
    """One worker: its own copies and server, the kill points it was given; returns what
    went wrong (assertion messages)."""
    own = remote.parent.parent / f"worker-{number}"
    own_project, home = own / "project", own / "ftp-home"
    shutil.copytree(project, own_project, symlinks=True)
    (home / "www").mkdir(parents=True)
    build = tree(own_project / "build/brand")
    version = json.loads((own_project / "build/.sitegen/sites/brand/manifest.json").read_text())[
        "version"
    ]
    site_yaml = own_project / "sites/brand/site.yaml"
    with serving_process(home) as port:
        site_yaml.write_text(
            re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{port}", site_yaml.read_text())
        )
        try:
            for index in chosen:
                if not _kill_point(
                    own_project, home / "www", snapshot, index, operations, killer, build, version
                ):
                    break
        except AssertionError as error:
            return [f"worker {number}: {error}"]
    return []


def _kill_point(
    project: Path,
    remote: Path,
    snapshot: Path,
    index: int,
    operations: int,
    killer: Callable[[pytest.MonkeyPatch, int], None],
    build: dict[str, bytes],
    version: str,
) -> bool:
    """Kill at one point and resume; False once the killer ran out of points."""
    shutil.rmtree(remote)
    shutil.copytree(snapshot, remote)
    with pytest.MonkeyPatch.context() as patch:
        killer(patch, index)
        killed = run_cli(project, "deploy", "brand", "--target", "production", "--yes")
    if killed.code == 0 and killer is not kill_at:
        assert published(remote) == build and index > operations  # ran out of changes
        return False
    assert killed.code == 130, (index, killed.err)
    assert missing_assets(remote) == [], index
    still = sum(
        1
        for path, data in build.items()
        if not (remote / path).is_file() or (remote / path).read_bytes() != data
    )
    resumed = run_cli(project, "deploy", "brand", "--target", "production", "--yes", "--break-lock")
    assert resumed.code == 0, (index, resumed.err)
    assert published(remote) == build, index
    if still or "nothing to do" not in resumed.out:
        assert f": {still} uploaded" in resumed.out, (index, still, resumed.out)
    state = remote / ".sitegen-state"
    assert not (state / "lock").exists() and not (state / "progress.jsonl").exists()
    history = json.loads((state / "history.json").read_text())
    assert history[-1]["version"] == version
    return True


def test_first_deploy_killed_at_every_operation(
    big_site: tuple[Path, Path],
    sitegen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    project, remote = big_site
    assert len(tree(project / "build/brand")) >= 190
    snapshot = tmp_path / "empty-remote"
    snapshot.mkdir()
    assert kill_and_resume(project, remote, sitegen, monkeypatch, snapshot) >= 190


def test_update_killed_at_every_operation(
    big_site: tuple[Path, Path],
    sitegen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    project, remote = big_site
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 0
    snapshot = tmp_path / "v1-remote"
    shutil.copytree(remote, snapshot)
    # Version 2: a new stylesheet (every page changes), one page gone, one new.
    edit(project / "themes/plain/scss/main.scss", "{", "{ color: #234;")
    (project / "content/articles/extra-3.md").unlink()
    (project / "content/articles/late.md").write_text("---\ntitle: Late\n---\nLate.\n")
    assert sitegen(project, "build", "brand").code == 0
    assert kill_and_resume(project, remote, sitegen, monkeypatch, snapshot) > 100


def test_update_killed_between_the_steps_of_operations(
    big_site: tuple[Path, Path],
    sitegen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    project, remote = big_site
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 0
    snapshot = tmp_path / "v1-remote"
    shutil.copytree(remote, snapshot)
    edit(project / "themes/plain/scss/main.scss", "{", "{ color: #345;")
    edit(project / "themes/plain/static/favicon.txt", "", "changed in place ")
    (project / "content/articles/extra-4.md").unlink()
    assert sitegen(project, "build", "brand").code == 0
    # Every 7th change to the server: each step of an operation (upload, set aside, rename)
    # and of the state (lock, progress, manifest) comes up.
    kill_and_resume(
        project,
        remote,
        sitegen,
        monkeypatch,
        snapshot,
        points=lambda operations: range(0, 10 * operations, 7),
        killer=kill_at_change,
    )
