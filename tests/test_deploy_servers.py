"""Deploys against real Debian FTP servers (pure-ftpd, vsftpd, proftpd) on loopback: their
default configurations over FTPS first, then the hardened or faulty variants hosts run
(plain FTP, client caps, quotas, refused renames). Every failure must be exit 1 with a
clear message, no lock left where the server allowed its removal, the failure journalled,
and a rerun (once the fault is gone) that converges."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result, edit, jsonl, tree
from tests.faultmatrix import observe
from tests.ftpd import (
    SERVERS,
    FtpServer,
    proftpd,
    proftpd_quota,
    pure_ftpd,
    set_proftpd_quota,
    vsftpd,
)

Start = Callable[..., AbstractContextManager[FtpServer]]


def published(remote: Path) -> dict[str, bytes]:
    return {
        path: data for path, data in tree(remote).items() if not path.startswith(".sitegen-state/")
    }


@pytest.fixture
def use(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sitegen: Callable[..., Result]
) -> Iterator[Callable[..., FtpServer]]:
    """Start a server (`use(vsftpd, *options)`) and point the brand site's target at it."""
    contexts: list[AbstractContextManager[FtpServer]] = []

    def start(server: Start, *options: str, tls: bool = True, extra: str = "") -> FtpServer:
        context = server(tmp_path / f"server-{len(contexts)}", *options, tls=tls)
        running = context.__enter__()
        contexts.append(context)
        site_yaml = project / "sites/brand/site.yaml"
        text = site_yaml.read_text()
        if "targets:" in text:
            text = text[: text.index("targets:")] + text[text.index("menu+:") :]
        site_yaml.write_text(
            text.replace(
                "menu+:", f"targets:\n  production:\n    url: {running.url()}\n{extra}menu+:", 1
            )
        )
        monkeypatch.setenv("SITEGEN_FTP_PASSWORD", running.password)
        monkeypatch.setenv("SITEGEN_CA_FILE", str(running.ca_file))
        return running

    yield start
    for context in reversed(contexts):
        context.__exit__(None, None, None)


def deploy(sitegen: Callable[..., Result], project: Path, *options: str) -> Result:
    result = sitegen(project, "deploy", "brand", "--target", "production", "--yes", *options)
    assert "Traceback" not in result.err
    return result


def local_journal(project: Path) -> list[dict[str, Any]]:
    path = project / "build/.sitegen/sites/brand/journal.jsonl"
    return jsonl(path) if path.exists() else []


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_defaults_over_ftps_deploy_change_status_rollback(
    name: str, use: Callable[..., FtpServer], project: Path, sitegen: Callable[..., Result]
) -> None:
    """Each server as Debian ships it, FTPS required: vsftpd and proftpd require TLS
    session reuse on data connections, proftpd refuses APPE onto a file, SIZE in ASCII
    mode and answers 450 to NLST of a missing folder."""
    server = use(SERVERS[name])
    assert sitegen(project, "build", "brand").code == 0
    first = deploy(sitegen, project, "--verify", "full")
    assert first.code == 0, first.err
    remote = server.home / "www"
    v1 = tree(project / "build/brand")
    assert published(remote) == v1

    edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, over TLS.")
    (project / "content/news/hello.md").unlink()
    assert sitegen(project, "build", "brand").code == 0
    second = deploy(sitegen, project)
    assert second.code == 0, second.err
    assert published(remote) == tree(project / "build/brand")
    status = sitegen(project, "status", "brand", "--target", "production", "--full")
    assert status.code == 0 and "no drift" in status.out, status.out

    back = sitegen(project, "rollback", "brand", "--target", "production", "--yes")
    assert back.code == 0, back.err
    assert published(remote) == v1
    journal = sitegen(project, "journal", "brand", "--target", "production")
    assert [line.split()[2] for line in journal.out.splitlines()] == ["start", "done"] * 3
    assert not (remote / ".sitegen-state/lock").exists()
    assert not list(remote.rglob("*.tmp"))
    observe(
        name,
        "none: Debian's configuration, FTPS",
        second.code,
        second.err,
        False,
        False,
        False,
        "-",
    )


def test_vsftpd_plain_ftp_and_ftps_sent_to_it(
    use: Callable[..., FtpServer], project: Path, sitegen: Callable[..., Result]
) -> None:
    server = use(vsftpd, tls=False)
    assert sitegen(project, "build", "brand").code == 0
    plain = deploy(sitegen, project)
    assert plain.code == 0, plain.err
    assert published(server.home / "www") == tree(project / "build/brand")

    site_yaml = project / "sites/brand/site.yaml"
    edit(site_yaml, "url: ftp://", "url: ftps://")
    refused = deploy(sitegen, project)
    assert refused.code == 1
    assert "AUTH TLS refused: 530" in refused.err and "offers no FTPS" in refused.err
    assert server.password not in refused.err
    observe(
        "vsftpd",
        "FTPS sent to a server without TLS",
        refused.code,
        refused.err,
        False,
        local_journal(project)[-1]["event"] == "failed",
        False,
        "-",
    )


CAPS = {
    "pure-ftpd": (pure_ftpd, "--maxclientsperip", "2"),
    "vsftpd": (vsftpd, "max_per_ip=2"),
    "proftpd": (proftpd, "MaxClientsPerHost 2"),
}


@pytest.mark.parametrize("name", sorted(CAPS))
def test_a_client_cap_is_learned(
    name: str, use: Callable[..., FtpServer], project: Path, sitegen: Callable[..., Result]
) -> None:
    """A host that allows 2 connections per address: pure-ftpd and vsftpd answer 421,
    proftpd `530 Sorry, the maximum number of clients...`."""
    start, *options = CAPS[name]
    server = use(start, *options, extra="    connections: 6\n")
    assert sitegen(project, "build", "brand").code == 0
    result = deploy(sitegen, project)
    assert result.code == 0, result.err
    notes = [line for line in result.err.splitlines() if "connection(s)" in line]
    assert notes == [
        "the server allows 2 connection(s); using no more (set "
        "targets.production.connections: 2 to start there)"
    ], result.err
    observe(
        name, "client cap of 2 (connections: 6)", result.code, result.err, False, False, False, "-"
    )
    assert published(server.home / "www") == tree(project / "build/brand")


def failure_observed(
    server: FtpServer, fault: str, project: Path, result: Result, rerun: Callable[[], Result] | None
) -> dict[str, Any]:
    """Observe a failed run (its journals and lock), then run `rerun`, if any, once the
    fault is lifted."""
    remote = server.home / "www"
    journal = (
        jsonl(remote / ".sitegen-state/journal.jsonl")
        if (remote / ".sitegen-state/journal.jsonl").exists()
        else []
    )
    remote_journalled = bool(journal) and journal[-1]["event"] == "failed"
    journalled = local_journal(project)[-1]["event"] == "failed"
    lock_left = (remote / ".sitegen-state/lock").exists()
    outcome = "not run"
    if rerun is not None:
        again = rerun()
        outcome = (
            "converged"
            if again.code == 0 and published(remote) == tree(project / "build/brand")
            else f"exit {again.code}: {again.err}"
        )
    return observe(
        server.name,
        fault,
        result.code,
        result.err,
        lock_left,
        journalled,
        remote_journalled,
        outcome,
    )


def test_proftpd_quota_refuses_writes(
    use: Callable[..., FtpServer], project: Path, sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    """proftpd with a quota of 60 KB of uploads (mod_quotatab): the first deploy runs out
    of it among the pages, and cannot even journal its failure on the server."""
    folder = tmp_path / "server-0"
    folder.mkdir()
    server = use(proftpd, *proftpd_quota(folder, 60_000))
    assert sitegen(project, "build", "brand").code == 0
    result = deploy(sitegen, project)
    assert result.code == 1
    assert "552" in result.err and "quota" in result.err.lower(), result.err
    assert "Debugging info" not in result.err
    remote = server.home / "www"
    assert not [
        path
        for path in tree(remote)
        if path.endswith(".tmp") and not path.startswith(".sitegen-state/")
    ]
    set_proftpd_quota(folder, 50_000_000)
    observation = failure_observed(
        server,
        "quota: 60 KB of uploads (mod_quotatab)",
        project,
        result,
        lambda: deploy(sitegen, project),
    )
    assert observation["journalled"] and not observation["lock_left"], str(observation)
    assert observation["rerun"] == "converged", observation["rerun"]


NO_RENAMES = {
    "pure-ftpd": (pure_ftpd, "--norename"),
    "vsftpd": (vsftpd, "cmds_denied=RNFR,RNTO"),
    "proftpd": (proftpd, "<Limit RNFR RNTO>\n  DenyAll\n</Limit>"),
}


@pytest.mark.parametrize("name", sorted(NO_RENAMES))
def test_a_server_without_renames(
    name: str, use: Callable[..., FtpServer], project: Path, sitegen: Callable[..., Result]
) -> None:
    """Renames refused (pure-ftpd `--norename`, vsftpd `cmds_denied`, a proftpd `<Limit>`):
    sitegen publishes by renames, so it stops before the first file and says why."""
    start, option = NO_RENAMES[name]
    server = use(start, option)
    assert sitegen(project, "build", "brand").code == 0
    result = deploy(sitegen, project)
    assert result.code == 1
    assert "refuses to rename files" in result.err, result.err
    remote = server.home / "www"
    assert published(remote) == {}
    observation = failure_observed(
        server, f"renames refused ({option.splitlines()[0]})", project, result, None
    )
    assert not observation["lock_left"] and observation["journalled"]


def test_two_deploys_started_together_one_says_locked(
    use: Callable[..., FtpServer], project: Path, sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    """Against proftpd, ten times: two `sitegen deploy` processes at once; exactly one
    publishes, the other says the target is locked (never a 550 or a size mismatch)."""
    import os
    import subprocess
    import sys

    server = use(proftpd)
    assert sitegen(project, "build", "brand").code == 0
    environment = {**os.environ, "CI": "true"}
    remote = server.home / "www"
    contended = 0
    for round_number in range(10):
        edit(project / "content/articles/gamma.md", "body", f"body {round_number}")
        assert sitegen(project, "build", "brand").code == 0
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
        runs = [
            subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
            )
            for _ in range(2)
        ]
        results = [run.communicate(timeout=120) + (run.returncode,) for run in runs]
        codes = sorted(code for _, _, code in results)
        errors = [err for _, err, code in results if code]
        assert codes in ([0, 1], [0, 0]), results
        for err in errors:  # locked, or planned against the version the other replaced
            assert (
                "the target is locked by" in err or "changed while this deploy was planned" in err
            ), err
            assert "Traceback" not in err
        if codes == [0, 0]:  # the second started after the first had finished
            continue
        contended += 1
        assert published(remote) == tree(project / "build/brand")
        assert not (remote / ".sitegen-state/lock").exists()
    assert contended >= 3
    manifest = json.loads((remote / ".sitegen-state/manifest.json").read_text())
    assert (
        manifest["version"]
        == json.loads((project / "build/.sitegen/sites/brand/manifest.json").read_text())["version"]
    )


def test_certificates_are_verified_and_tls_only_servers_refuse_plain_ftp(
    use: Callable[..., FtpServer],
    project: Path,
    sitegen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    server = use(pure_ftpd)
    assert sitegen(project, "build", "brand").code == 0
    monkeypatch.delenv("SITEGEN_CA_FILE")
    unverified = deploy(sitegen, project)
    assert unverified.code == 1 and "CERTIFICATE_VERIFY_FAILED" in unverified.err
    assert "set SITEGEN_CA_FILE" in unverified.err
    assert server.password not in unverified.out + unverified.err
    assert published(server.home / "www") == {}

    monkeypatch.setenv("SITEGEN_CA_FILE", str(tmp_path / "no-such-ca.pem"))
    missing = deploy(sitegen, project)
    assert missing.code == 1
    assert (
        f"SITEGEN_CA_FILE names '{tmp_path / 'no-such-ca.pem'}', which is not a file" in missing.err
    )

    monkeypatch.setenv("SITEGEN_CA_FILE", str(server.ca_file))
    edit(project / "sites/brand/site.yaml", "url: ftps://", "url: ftp://")
    refused = deploy(sitegen, project)
    assert refused.code == 1 and "cannot connect to target 'production'" in refused.err
    assert server.password not in refused.err


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_a_folder_the_account_cannot_write(
    name: str, use: Callable[..., FtpServer], project: Path, sitegen: Callable[..., Result]
) -> None:
    """A host's permissions gone wrong: after a first deploy, one folder of the site is
    made read-only for the FTP account, so the next deploy fails in the middle of its
    uploads (550/553 from the server). Then the web root itself, so the next one fails
    before it can take the lock."""
    server = use(SERVERS[name])
    assert sitegen(project, "build", "brand").code == 0
    assert deploy(sitegen, project).code == 0
    remote = server.home / "www"
    edit(project / "themes/plain/scss/main.scss", "{", "{ color: #789;")
    assert sitegen(project, "build", "brand").code == 0
    before = tree(remote)
    for fault, folder in (
        ("a folder of the site read-only", remote / "articles/alpha"),
        ("the web root read-only", remote),
    ):
        folder.chmod(0o555)
        (remote / ".sitegen-state").chmod(0o555 if folder == remote else 0o755)
        try:
            result = deploy(sitegen, project)
        finally:
            folder.chmod(0o755)
            (remote / ".sitegen-state").chmod(0o755)
        assert result.code == 1
        assert "articles/alpha" in result.err or folder == remote, result.err
        assert all((remote / path).is_file() for path in before if path.endswith(".html"))
        observation = failure_observed(
            server, fault, project, result, lambda: deploy(sitegen, project)
        )
        assert observation["journalled"] and not observation["lock_left"], str(observation)
        assert observation["rerun"] == "converged", observation["rerun"]
        if folder != remote:
            assert observation["remote_journalled"]
        edit(project / "themes/plain/scss/main.scss", "{", "{ order: 2;")
        assert sitegen(project, "build", "brand").code == 0
        before = tree(remote)
