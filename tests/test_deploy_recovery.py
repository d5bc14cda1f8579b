"""What a killed deploy leaves behind, and how the next command deals with it (real FTP
server on loopback; the kill is simulated at one precise point, so each leftover state is
reproduced exactly): a journal line cut short, a lock whose run is over, pending deletions,
temporary files of an abandoned version."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.deploy import bookkeeping, lock, publish, run
from generator.deploy.remote import Pool, Remote
from generator.deploy.state import switch_to
from generator.manifest import Manifest
from tests.conftest import Result, edit, jsonl, tree


@pytest.fixture
def built(deployable: tuple[Path, Path], sitegen: Callable[..., Result]) -> tuple[Path, Path]:
    assert sitegen(deployable[0], "build", "brand").code == 0
    return deployable


def deploy(sitegen: Callable[..., Result], project: Path, *options: str) -> Result:
    result = sitegen(project, "deploy", "brand", "--target", "production", "--yes", *options)
    assert "Traceback" not in result.err
    return result


def published(remote: Path) -> dict[str, bytes]:
    return {
        path: data for path, data in tree(remote).items() if not path.startswith(".sitegen-state/")
    }


def new_version(project: Path, sitegen: Callable[..., Result], text: str) -> None:
    """A build that differs from the last one (alpha's body says `text`)."""
    page = project / "content/articles/alpha.md"
    if not hasattr(new_version, "original"):
        new_version.original = {}  # type: ignore[attr-defined]
    original = new_version.original.setdefault(page, page.read_text())  # type: ignore
    page.write_text(original + f"\n{text}\n")
    assert sitegen(project, "build", "brand").code == 0


def test_a_journal_line_cut_by_a_kill_is_skipped_and_reported(
    built: tuple[Path, Path], sitegen: Callable[..., Result]
) -> None:
    project, remote = built
    assert deploy(sitegen, project).code == 0
    journal = remote / ".sitegen-state/journal.jsonl"
    with open(journal, "ab") as stream:  # what a kill in the middle of APPE leaves
        stream.write(b'\n{"event": "start", "id": "cut-sho')
    new_version(project, sitegen, "after the cut")
    assert deploy(sitegen, project).code == 0
    lines = journal.read_text().splitlines()
    assert lines.count('{"event": "start", "id": "cut-sho') == 1  # alone on its line
    shown = sitegen(project, "journal", "brand", "--target", "production")
    assert shown.code == 0, shown.err
    assert [line.split()[2] for line in shown.out.splitlines()] == ["start", "done"] * 2
    assert "skipped 1 damaged line(s) of the journal" in shown.err


def test_a_run_killed_between_its_last_entry_and_its_lock(
    built: tuple[Path, Path], sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, remote = built
    with monkeypatch.context() as patch:

        def killed(remote: Remote) -> None:
            raise KeyboardInterrupt("killed before removing the lock")

        patch.setattr(lock, "release", killed)
        assert deploy(sitegen, project).code == 130
    state_folder = remote / ".sitegen-state"
    assert (state_folder / "lock").is_dir() and not (state_folder / "progress.jsonl").exists()
    assert jsonl(state_folder / "journal.jsonl")[-1]["event"] == "done"
    # Nothing to publish, and no --break-lock: the journal proves the run ended.
    again = deploy(sitegen, project)
    assert again.code == 0 and "nothing to do" in again.out
    assert "the journal records that its run ended" in again.err
    assert not (state_folder / "lock").exists()


def test_a_lock_of_a_dead_process_and_break_lock_with_nothing_to_do(
    built: tuple[Path, Path], sitegen: Callable[..., Result]
) -> None:
    project, remote = built
    assert deploy(sitegen, project).code == 0
    folder = remote / ".sitegen-state/lock"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    owner = lock.owner_record("someone", "deadbeef0000")
    folder.mkdir()
    (folder / "owner.json").write_text(json.dumps({**owner, "pid": int(dead.stdout)}))
    new_version(project, sitegen, "after a dead run")
    taken = deploy(sitegen, project)
    assert taken.code == 0, taken.err
    assert f"its process ({int(dead.stdout)}) on this machine no longer exists" in taken.err
    assert published(remote) == tree(project / "build/brand")

    # A live lock (this very process) is respected, and --break-lock clears it even when
    # there is nothing to publish.
    folder.mkdir()
    (folder / "owner.json").write_text(json.dumps(lock.owner_record("someone", "live00000000")))
    new_version(project, sitegen, "while locked")
    locked = deploy(sitegen, project)
    assert locked.code == 1 and "the target is locked by someone (deploy live00000000" in locked.err
    new_version(project, sitegen, "after a dead run")  # the deployed version again
    idle = deploy(sitegen, project, "--break-lock")
    assert idle.code == 0 and "nothing to do" in idle.out, idle.out + idle.err
    assert "--break-lock" in idle.err and not folder.exists()


def test_pending_deletions_done_before_a_kill_are_cleared_by_the_resume(
    built: tuple[Path, Path], sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, remote = built
    assert deploy(sitegen, project).code == 0
    hello = (project / "content/news/hello.md").read_text()
    (project / "content/news/hello.md").unlink()
    assert sitegen(project, "build", "brand").code == 0
    with monkeypatch.context() as patch:
        patch.setattr(run, "PROGRESS_EVERY", 1)  # the progress names every deletion
        calls = [0]
        real = switch_to

        def switch(
            remote: Remote, manifest: Manifest, pending: dict[str, Any] | None = None
        ) -> None:
            calls[0] += 1
            if calls[0] == 2:
                raise KeyboardInterrupt("killed before the final switch")
            real(remote, manifest, pending)

        patch.setattr("generator.deploy.run.switch_to", switch)
        assert deploy(sitegen, project).code == 130
    pointer = json.loads((remote / ".sitegen-state/manifest.json").read_text())
    assert pointer["pending_deletions"]
    resumed = deploy(sitegen, project, "--break-lock")  # the kill was simulated in-process
    assert resumed.code == 0, resumed.err
    pointer = json.loads((remote / ".sitegen-state/manifest.json").read_text())
    assert "pending_deletions" not in pointer
    # The same page again, byte for byte: it must be uploaded, not taken for present.
    (project / "content/news/hello.md").write_text(hello)
    assert sitegen(project, "build", "brand").code == 0
    again = deploy(sitegen, project)
    assert again.code == 0, again.err
    assert published(remote) == tree(project / "build/brand")
    status = sitegen(project, "status", "brand", "--target", "production")
    assert "no drift" in status.out, status.out


def test_temporary_files_of_an_abandoned_version_are_listed_then_removed(
    built: tuple[Path, Path], sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, remote = built
    assert deploy(sitegen, project).code == 0
    edit(project / "themes/plain/scss/main.scss", "{", "{ color: #567;")  # every page
    assert sitegen(project, "build", "brand").code == 0
    with monkeypatch.context() as patch:
        real = Remote.put
        count = [0]

        def put(self: Remote, path: str, data: bytes) -> None:
            real(self, path, data)
            if ".sitegen-state/" not in path and path.endswith(".tmp"):
                count[0] += 1
                if count[0] == 3:
                    raise KeyboardInterrupt("killed after an upload, before its rename")

        patch.setattr(Remote, "put", put)
        patch.setattr(
            Pool, "run", lambda self, items, work, done=None: _serial(self, items, work, done)
        )
        assert deploy(sitegen, project).code == 130
    left = [
        path
        for path in tree(remote)
        if path.endswith(".tmp") and not path.startswith(".sitegen-state/")
    ]
    assert left
    status = sitegen(project, "status", "brand", "--target", "production")
    for path in left:
        assert f"temporary {path}" in status.out, status.out
    # The next deploy is of another version: it removes them.
    edit(project / "themes/plain/scss/main.scss", "color: #567;", "color: #678;")
    assert sitegen(project, "build", "brand").code == 0
    other = deploy(sitegen, project, "--break-lock")
    assert other.code == 0, other.err
    assert f"removed {len(left)} temporary file(s) an interrupted deploy" in other.err
    assert "removed 1 file(s) an interrupted deploy" in other.err  # its new stylesheet
    assert not [path for path in tree(remote) if path.endswith(".tmp")]
    assert published(remote) == tree(project / "build/brand")


def _serial(pool: Any, items: Any, work: Any, done: Any) -> Any:
    """The pool on one thread, so that the kill lands after an exact number of uploads."""
    for item in items:
        remote = pool._take()
        work(remote, item, 0)
        pool.idle.append(remote)
        if done is not None:
            done(remote, item)
    return None


def test_a_password_inside_the_target_url_is_never_printed(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    edit(
        project / "sites/brand/site.yaml",
        "menu+:",
        "targets:\n  production:\n    url: ftp://deployer:hunter2secret@ftp.example.org/www\n"
        "menu+:",
    )
    for command in (
        ("build", "brand"),
        ("deploy", "brand", "--target", "production"),
        ("config", "show", "brand"),
    ):
        result = sitegen(project, *command)
        assert result.code == 1
        assert "hunter2secret" not in result.out + result.err
        assert "a password inside the URL is not allowed" in result.err
        assert "ftp://deployer:***@ftp.example.org/www" in result.err


def test_a_cancelled_deploy_changes_nothing_and_is_no_failure(built: tuple[Path, Path]) -> None:
    """Answering no at the prompt: nothing on the server, and no `failed` entry in the
    local journal (a failure to connect, by contrast, is journalled: see the fault tests)."""
    from generator.cli import _buildable_site
    from generator.deploy.connection import target_of
    from generator.errors import DeployError

    project, remote = built
    _, site = _buildable_site(project, "brand")
    journal = project / "build/.sitegen/sites/brand/journal.jsonl"
    origin = bookkeeping.Origin("tester", "", journal)
    with pytest.raises(DeployError, match="deploy cancelled; nothing was changed"):
        publish.deploy(
            "brand",
            target_of(site, "production"),
            project / "build",
            {},
            origin,
            confirm=lambda plan: False,
        )
    assert list(remote.iterdir()) == [] and not journal.exists()


def test_a_target_changed_between_plan_and_lock_is_left_alone(
    built: tuple[Path, Path], sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another deploy finishing while this one planned: this one stops before changing
    anything (its plan was made against a version that is no longer live)."""
    project, remote = built
    assert deploy(sitegen, project).code == 0
    new_version(project, sitegen, "planned against an old version")
    pointer = remote / ".sitegen-state/manifest.json"
    real = lock.take_lock

    def meanwhile(*arguments: Any, **options: Any) -> list[str]:
        pointer.write_text(json.dumps({"site": "brand", "version": "f" * 64}))  # the other
        return real(*arguments, **options)

    before = published(remote)
    monkeypatch.setattr(lock, "take_lock", meanwhile)
    result = deploy(sitegen, project)
    assert result.code == 1 and "the target changed while this deploy was planned" in result.err, (
        result.err
    )
    assert published(remote) == before and not (remote / ".sitegen-state/lock").exists()
