"""Deploy, change, redeploy and roll back over FTPS against Debian's pure-ftpd on loopback,
with the server's certificate verified against a test CA."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Result, edit, tree
from tests.pureftpd import PASSWORD, USER, PureFtpd, pure_ftpd


@pytest.fixture
def server(tmp_path: Path) -> Iterator[PureFtpd]:
    with pure_ftpd(tmp_path / "pure-ftpd") as running:
        yield running


def published(remote: Path) -> dict[str, bytes]:
    return {path: data for path, data in tree(remote).items()
            if not path.startswith(".sitegen-state/")}


def test_ftps_deploy_change_redeploy_rollback(server: PureFtpd, project: Path,
                                              sitegen: Callable[..., Result],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    edit(project / "sites/brand/site.yaml", "menu+:",
         f"targets:\n  production:\n    url: ftps://{USER}@127.0.0.1:{server.port}/www\n"
         "menu+:")
    monkeypatch.setenv("SITEGEN_FTP_PASSWORD", PASSWORD)
    assert sitegen(project, "build", "brand").code == 0

    unverified = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
    assert unverified.code == 1 and "CERTIFICATE_VERIFY_FAILED" in unverified.err
    assert PASSWORD not in unverified.out + unverified.err
    assert not (server.home / "www").exists()

    monkeypatch.setenv("SITEGEN_CA_FILE", str(server.ca_file))
    first = sitegen(project, "deploy", "brand", "--target", "production", "--yes",
                    "--verify", "full")
    assert first.code == 0, first.err
    remote = server.home / "www"
    v1 = tree(project / "build/brand")
    assert published(remote) == v1

    edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, over TLS.")
    (project / "content/news/hello.md").unlink()
    assert sitegen(project, "build", "brand").code == 0
    second = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
    assert second.code == 0, second.err
    assert published(remote) == tree(project / "build/brand")
    assert "no drift" in sitegen(project, "status", "brand", "--target", "production",
                                 "--full").out

    back = sitegen(project, "rollback", "brand", "--target", "production", "--yes")
    assert back.code == 0, back.err
    assert published(remote) == v1
    journal = sitegen(project, "journal", "brand", "--target", "production").out
    assert [line.split()[2] for line in journal.splitlines()] == ["start", "done"] * 3


def test_plain_ftp_is_refused_by_a_tls_only_server(server: PureFtpd, project: Path,
                                                  sitegen: Callable[..., Result],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    edit(project / "sites/brand/site.yaml", "menu+:",
         f"targets:\n  production:\n    url: ftp://{USER}@127.0.0.1:{server.port}/www\n"
         "menu+:")
    monkeypatch.setenv("SITEGEN_FTP_PASSWORD", PASSWORD)
    assert sitegen(project, "build", "brand").code == 0
    refused = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
    assert refused.code == 1 and "cannot connect to target 'production'" in refused.err
    assert PASSWORD not in refused.err
