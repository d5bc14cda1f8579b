"""Deploys against a real FTP server (pyftpdlib on loopback) that misbehaves on purpose.

Each fault ends in a verified success, or in exit status 1 with the failing operation in
the remote journal and the site still whole; none is silent."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pyftpdlib.handlers import FTPHandler

from tests.conftest import Result, edit, jsonl, tree
from tests.ftp import PASSWORD, USER, serving


def published(remote: Path) -> dict[str, bytes]:
    return {
        path: data for path, data in tree(remote).items() if not path.startswith(".sitegen-state/")
    }


def journal(remote: Path) -> list[dict[str, Any]]:
    path = remote / ".sitegen-state/journal.jsonl"
    return jsonl(path)


class Faults:
    """Which STORs fail, shared by one server's handlers (one per connection)."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.lock = threading.Lock()

    def first_time(self, path: str, pattern: str) -> bool:
        if pattern not in path:
            return False
        with self.lock:
            self.seen[path] = self.seen.get(path, 0) + 1
            return self.seen[path] == 1


H = TypeVar("H", bound=type)


def isolated(handler: H, **state: Any) -> H:
    """A subclass of `handler` holding its own fault state: no test sees another's."""
    made: H = type(handler.__name__, (handler,), state)  # type: ignore[assignment]
    return made


class DropsMidTransfer(FTPHandler):
    """The first STOR of each page: half the bytes arrive, then the connection drops."""

    faults: Faults

    def ftp_STOR(self, file: str, mode: str = "w") -> Any:
        if self.faults.first_time(file, "index.html.sitegen-"):
            Path(file).write_bytes(b"<html>half")
            self.close()
            return None
        return super().ftp_STOR(file, mode)


class DropsMidDownload(FTPHandler):
    """The first RETR of each page: the connection drops before any byte is sent."""

    faults: Faults

    def ftp_RETR(self, file: str, rest_pos: int = 0) -> Any:
        if self.faults.first_time(file, "index.html"):
            self.close()
            return None
        return super().ftp_RETR(file)


class DropsStateDownloads(FTPHandler):
    """The second RETR of the live pointer (manifest.json): the connection drops before any
    byte is sent, after the plan read it once (as a TLS data channel broke on vsftpd)."""

    faults: Faults

    def ftp_RETR(self, file: str, rest_pos: int = 0) -> Any:
        if file.endswith("/.sitegen-state/manifest.json"):
            with self.faults.lock:
                self.faults.seen[file] = self.faults.seen.get(file, 0) + 1
                drop = self.faults.seen[file] == 2
            if drop:
                self.close()
                return None
        return super().ftp_RETR(file)


class DropsStateListings(FTPHandler):
    """Every first NLST of a state folder: the connection drops before the listing (as when
    vsftpd cannot bind its passive port and answers `500 OOPS` in plain text)."""

    faults: Faults

    def ftp_NLST(self, path: str) -> Any:
        if self.faults.first_time(path, "/.sitegen-state/"):
            self.close()
            return None
        return super().ftp_NLST(path)


class Oops500(FTPHandler):
    """The first STOR of each stylesheet: vsftpd's dying session (`500 OOPS`), then the
    connection closed."""

    faults: Faults

    def ftp_STOR(self, file: str, mode: str = "w") -> Any:
        if self.faults.first_time(file, ".css"):
            self.respond("500 OOPS: vsf_sysutil_bind")
            self.close_when_done()
            return None
        return super().ftp_STOR(file, mode)


class Aborts426(FTPHandler):
    """The first STOR of each stylesheet or page is aborted with 426."""

    faults: Faults

    def ftp_STOR(self, file: str, mode: str = "w") -> Any:
        if self.faults.first_time(file, ".css") or self.faults.first_time(file, ".html."):
            self.respond("426 Connection closed; transfer aborted.")
            return None
        return super().ftp_STOR(file, mode)


class QuotaExceeded(FTPHandler):
    """No room for the gamma page, ever."""

    attempts: list[int]
    lock: threading.Lock

    def ftp_STOR(self, file: str, mode: str = "w") -> Any:
        if "gamma-ray/index.html" in file:
            with self.lock:
                self.attempts[0] += 1
            self.respond("552 Requested file action aborted. Exceeded storage allocation.")
            return None
        return super().ftp_STOR(file, mode)


class NoRenameOver(FTPHandler):
    """RNTO refuses an existing destination, as some Windows servers do."""

    def ftp_RNTO(self, path: str) -> Any:
        if Path(path).exists():
            self.respond("550 Cannot rename: the file exists.")
            return None
        return super().ftp_RNTO(path)


BARE = {
    name: value
    for name, value in FTPHandler.proto_cmds.items()
    if name not in ("MLSD", "MLST", "SIZE")
}


def target(project: Path, port: int, extra: str = "") -> None:
    edit(
        project / "sites/brand/site.yaml",
        "menu+:",
        f"targets:\n  production:\n    url: ftp://{USER}@127.0.0.1:{port}/www\n"
        f"    retries: 3\n{extra}menu+:",
    )


@pytest.fixture
def site(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sitegen: Callable[..., Result]
) -> Iterator[Callable[..., tuple[Path, Path]]]:
    """Serve a faulty FTP server; the project built, with a target on it."""
    monkeypatch.setenv("SITEGEN_FTP_PASSWORD", PASSWORD)
    contexts = []

    def start(handler: Any = None, extra: str = "", **options: Any) -> tuple[Path, Path]:
        home = tmp_path / "ftp-home"
        (home / "www").mkdir(parents=True)
        context = serving(home, handler, **options)
        port = context.__enter__()
        contexts.append(context)
        target(project, port, extra)
        assert sitegen(project, "build", "brand").code == 0
        return project, home / "www"

    yield start
    for context in contexts:
        context.__exit__(None, None, None)


def deploy(sitegen: Callable[..., Result], project: Path, *options: str) -> Result:
    return sitegen(project, "deploy", "brand", "--target", "production", "--yes", *options)


def change_and_redeploy(sitegen: Callable[..., Result], project: Path, remote: Path) -> None:
    edit(project / "content/articles/alpha.md", "---\n", "---\nsummary: changed\n")
    edit(project / "themes/plain/scss/main.scss", "{", "{ color: #123;")
    assert sitegen(project, "build", "brand").code == 0
    result = deploy(sitegen, project)
    assert result.code == 0, result.err
    assert published(remote) == tree(project / "build/brand")


def test_connections_dropped_mid_transfer_are_retried(
    site: Callable[..., tuple[Path, Path]], sitegen: Callable[..., Result]
) -> None:
    handler = isolated(DropsMidTransfer, faults=Faults())
    project, remote = site(handler)
    result = deploy(sitegen, project, "--verify", "full")
    assert result.code == 0, result.err
    assert published(remote) == tree(project / "build/brand")
    assert handler.faults.seen  # the fault happened
    done = journal(remote)[-1]
    assert done["event"] == "done" and done["retries"] >= len(handler.faults.seen)
    assert "verified by content" in result.out
    change_and_redeploy(sitegen, project, remote)


def test_status_full_retries_a_dropped_download(
    site: Callable[..., tuple[Path, Path]], sitegen: Callable[..., Result]
) -> None:
    handler = isolated(DropsMidDownload, faults=Faults())
    project, remote = site(handler)
    assert deploy(sitegen, project).code == 0
    status = sitegen(project, "status", "brand", "--target", "production", "--full")
    assert status.code == 0, status.err
    assert "no drift" in status.out
    assert handler.faults.seen  # downloads were dropped, and tried again


def test_a_dropped_download_of_the_state_is_tried_again_on_a_new_connection(
    site: Callable[..., tuple[Path, Path]], sitegen: Callable[..., Result]
) -> None:
    handler = isolated(DropsStateDownloads, faults=Faults())
    project, remote = site(handler)
    assert deploy(sitegen, project).code == 0
    edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, again.")
    assert sitegen(project, "build", "brand").code == 0
    again = deploy(sitegen, project)  # reads the pointer at plan time, then after the lock
    assert again.code == 0, again.err
    assert max(handler.faults.seen.values()) >= 2  # the dropped download happened
    back = sitegen(project, "rollback", "brand", "--target", "production", "--yes")
    assert back.code == 0, back.err


def test_a_dropped_listing_of_the_state_is_tried_again_on_a_new_connection(
    site: Callable[..., tuple[Path, Path]], sitegen: Callable[..., Result]
) -> None:
    handler = isolated(DropsStateListings, faults=Faults())
    project, remote = site(handler)
    assert deploy(sitegen, project).code == 0
    edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, listed again.")
    assert sitegen(project, "build", "brand").code == 0
    assert deploy(sitegen, project).code == 0
    back = sitegen(project, "rollback", "brand", "--target", "production", "--yes")
    assert back.code == 0, back.err
    assert handler.faults.seen  # listings were dropped, and tried again


def test_vsftpd_500_oops_is_tried_again_on_a_new_connection(
    site: Callable[..., tuple[Path, Path]], sitegen: Callable[..., Result]
) -> None:
    handler = isolated(Oops500, faults=Faults())
    project, remote = site(handler)
    result = deploy(sitegen, project)
    assert result.code == 0, result.err
    assert handler.faults.seen
    assert published(remote) == tree(project / "build/brand")


def test_426_aborted_transfers_are_retried(
    site: Callable[..., tuple[Path, Path]], sitegen: Callable[..., Result]
) -> None:
    project, remote = site(isolated(Aborts426, faults=Faults()))
    result = deploy(sitegen, project)
    assert result.code == 0, result.err
    assert published(remote) == tree(project / "build/brand")
    assert journal(remote)[-1]["retries"] >= 2


def test_the_pool_learns_the_connection_limit_from_421(
    site: Callable[..., tuple[Path, Path]], sitegen: Callable[..., Result]
) -> None:
    project, remote = site(extra="    connections: 6\n", server_attributes={"max_cons_per_ip": 2})
    result = deploy(sitegen, project)
    assert result.code == 0, result.err
    assert "the server allows 2 connection(s)" in result.err
    assert published(remote) == tree(project / "build/brand")
    change_and_redeploy(sitegen, project, remote)


def test_552_quota_fails_the_deploy_naming_the_file(
    site: Callable[..., tuple[Path, Path]], sitegen: Callable[..., Result]
) -> None:
    handler = isolated(QuotaExceeded, attempts=[0], lock=threading.Lock())
    project, remote = site(handler)
    result = deploy(sitegen, project)
    assert result.code == 1
    assert (
        "articles/gamma-ray/index.html: upload failed: upload /www/articles/gamma-ray/"
        "index.html.sitegen-"
        in result.err
        and ": 552 Requested" in result.err
    )
    failed = journal(remote)[-1]
    assert failed["event"] == "failed" and failed["path"] == "articles/gamma-ray/index.html"
    assert failed["operation"] == "upload" and ": 552 Requested" in failed["error"]
    assert not (remote / ".sitegen-state/lock").exists()  # released
    assert not (remote / ".sitegen-state/manifest.json").exists()  # not switched
    assert handler.attempts == [1]  # permanent: never retried
    assert sum(1 for entry in journal(remote) if entry["event"] == "failed") == 1


def test_a_server_that_refuses_to_rename_over_a_file(
    site: Callable[..., tuple[Path, Path]], sitegen: Callable[..., Result]
) -> None:
    project, remote = site(NoRenameOver, extra="    keep: 0\n")
    result = deploy(sitegen, project)
    assert result.code == 0, result.err
    change_and_redeploy(sitegen, project, remote)
    assert not [path for path in tree(remote) if path.endswith(".tmp")]


def test_a_server_without_mlsd_or_size(
    site: Callable[..., tuple[Path, Path]], sitegen: Callable[..., Result]
) -> None:
    project, remote = site(proto_cmds=BARE)
    result = deploy(sitegen, project, "--verify", "full")
    assert result.code == 0, result.err
    change_and_redeploy(sitegen, project, remote)
    status = sitegen(project, "status", "brand", "--target", "production")
    assert "no drift" in status.out


def test_listings_in_another_time_zone(
    site: Callable[..., tuple[Path, Path]],
    sitegen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
    time.tzset()
    try:
        project, remote = site(use_gmt_times=False)
        assert deploy(sitegen, project).code == 0
        change_and_redeploy(sitegen, project, remote)
        again = deploy(sitegen, project)
        assert "0 uploads (0 bytes), 0 deletions, nothing to do" in again.out
    finally:
        monkeypatch.undo()
        time.tzset()
