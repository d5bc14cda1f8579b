"""Faults outside the upload pool, injected by a real FTP server (pyftpdlib on loopback):
quotas, refused renames, and connections dropped or aborted while the deploy reads the
manifest, lists the object store, takes the lock, or writes its progress, a version, the
manifest, the history or the journal.

Every one must end in exit status 1 with one clear line (never a traceback), the lock
released, the failure in the local journal (and in the target's, unless the fault is in
the journal itself), no page referencing a missing asset, and, once the fault is lifted,
a rerun that makes the server equal the build."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pyftpdlib.handlers import FTPHandler

from tests.conftest import Result, edit, jsonl, tree
from tests.faultmatrix import observe
from tests.ftp import PASSWORD, USER, serving
from tests.test_deploy_kill import missing_assets


class Faulty(FTPHandler):
    """Fails every command `fault` names until `fault` is cleared: (command, a part of its
    argument, the reply, or None to drop the connection). `quota`: bytes the account may
    hold before STOR and APPE get 552 (None: no quota)."""

    fault: list[Any]
    quota: list[int | None]
    stored: list[int]
    lock: threading.Lock

    def pre_process_command(self, line: str, cmd: str, arg: str) -> Any:
        rule = self.fault[0]
        if rule is not None and cmd == rule[0] and rule[1] in arg:
            if rule[2] is None:
                self.close()
            else:
                self.respond(rule[2])
            return None
        limit = self.quota[0]
        if limit is not None and cmd in ("STOR", "APPE") and self.stored[0] >= limit:
            self.respond("552 Requested file action aborted. Exceeded storage allocation.")
            return None
        return super().pre_process_command(line, cmd, arg)

    def log_transfer(
        self, cmd: str, filename: str, receive: bool, completed: bool, elapsed: float, bytes: int
    ) -> None:
        if receive:
            with self.lock:
                self.stored[0] += bytes
        super().log_transfer(cmd, filename, receive, completed, elapsed, bytes)


FAULTS: dict[str, tuple[Any, int | None]] = {
    "quota: 552 from the first byte": (None, 0),
    "quota: 552 after 60 KB": (None, 60_000),
    "renames refused (550 on RNFR)": (("RNFR", "", "550 Not allowed."), None),
    "dropped while reading the manifest": (("RETR", "manifest.json", None), None),
    "426 while listing the object store": (("NLST", "objects", "426 Aborted."), None),
    "dropped while taking the lock": (("MKD", "lock", None), None),
    "dropped while writing the progress": (("APPE", "progress.jsonl", None), None),
    "dropped while writing a version": (("STOR", "versions/", None), None),
    "552 while switching the manifest": (
        ("STOR", ".sitegen-state/manifest.json", "552 Exceeded storage allocation."),
        None,
    ),
    "552 while writing the history": (
        ("STOR", "history.json", "552 Exceeded storage allocation."),
        None,
    ),
    "552 while appending to the journal": (
        ("APPE", "journal.jsonl", "552 Exceeded storage allocation."),
        None,
    ),
    "dropped while renaming a page into place": (
        ("RNFR", "articles/alpha/index.html.sitegen-", None),
        None,
    ),
}


BEFORE_THE_LOCK = {
    "quota: 552 from the first byte",
    "renames refused (550 on RNFR)",
    "dropped while reading the manifest",
    "426 while listing the object store",
    "dropped while taking the lock",
}
JOURNAL_REFUSED = {"552 while appending to the journal", "quota: 552 after 60 KB"}


@pytest.fixture
def served(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sitegen: Callable[..., Result]
) -> Iterator[tuple[Path, type[Faulty]]]:
    """A server whose faults the test sets on the handler class it gets (its own)."""
    home = tmp_path / "ftp-home"
    (home / "www").mkdir(parents=True)
    handler = type(
        "Faulty",
        (Faulty,),
        {"fault": [None], "quota": [None], "stored": [0], "lock": threading.Lock()},
    )
    with serving(home, handler) as port:
        edit(
            project / "sites/brand/site.yaml",
            "menu+:",
            f"targets:\n  production:\n    url: ftp://{USER}@127.0.0.1:{port}/www\n"
            "    retries: 1\nmenu+:",
        )
        monkeypatch.setenv("SITEGEN_FTP_PASSWORD", PASSWORD)
        yield home / "www", handler


def deploy(sitegen: Callable[..., Result], project: Path) -> Result:
    return sitegen(project, "deploy", "brand", "--target", "production", "--yes")


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_outside_the_pool_fails_cleanly(
    fault: str, served: tuple[Path, type[Faulty]], project: Path, sitegen: Callable[..., Result]
) -> None:
    remote, handler = served
    assert sitegen(project, "build", "brand").code == 0
    assert deploy(sitegen, project).code == 0  # version 1
    before = tree(remote)
    # Version 2: every page changes (the stylesheet), one page goes, one comes.
    edit(project / "themes/plain/scss/main.scss", "{", "{ color: #456;")
    (project / "content/news/hello.md").unlink()
    (project / "content/articles/late.md").write_text("---\ntitle: Late\n---\nLate.\n")
    assert sitegen(project, "build", "brand").code == 0

    handler.fault[0], handler.quota[0] = FAULTS[fault]
    handler.stored[0] = 0
    failed = deploy(sitegen, project)
    handler.fault[0], handler.quota[0] = None, None

    assert failed.code == 1, failed.out + failed.err
    assert "Traceback" not in failed.err
    errors = [line for line in failed.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, failed.err
    assert PASSWORD not in failed.out + failed.err
    assert missing_assets(remote) == []
    build = tree(project / "build/brand")
    old_pages = [path for path in before if path.endswith(".html") and path in build]
    assert all((remote / path).is_file() for path in old_pages)
    state = remote / ".sitegen-state"
    lock_left = (state / "lock").exists()
    local = jsonl(project / "build/.sitegen/sites/brand/journal.jsonl")
    remote_journal = jsonl(state / "journal.jsonl")
    rerun = deploy(sitegen, project)
    converged = (
        rerun.code == 0
        and {
            path: data
            for path, data in tree(remote).items()
            if not path.startswith(".sitegen-state/")
        }
        == build
    )
    observation = observe(
        "pyftpdlib",
        fault,
        failed.code,
        failed.err,
        lock_left,
        local[-1]["event"] == "failed",
        remote_journal[-1]["event"] == "failed",
        "converged" if converged else f"exit {rerun.code}",
    )
    assert not lock_left
    assert observation["journalled"]
    if fault in BEFORE_THE_LOCK:
        assert remote_journal[-1]["event"] == "done"  # only the lock's holder writes it
    elif fault in JOURNAL_REFUSED:
        assert "the target's journal could not record the failure" in failed.err
    else:
        assert observation["remote_journalled"], remote_journal[-1]
    assert converged, rerun.err
