"""`analytics ingest --from-target`: the host's logs over FTP, only what is new each time.
A real FTP server (pyftpdlib, in-process) on loopback."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, edit

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"


def line(number: int) -> str:
    return (
        f"10.0.0.{number % 200} - - [01/Jun/2026:10:{number % 60:02}:00 +0000] "
        f'"GET /articles/?n={number} HTTP/1.1" 200 512 "-" "{BROWSER}"\n'
    )


def test_only_new_bytes_are_ingested(
    project: Path,
    sitegen: Callable[..., Result],
    ftp_server: tuple[int, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, home = ftp_server
    edit(
        project / "sites/brand/site.yaml",
        "menu+:",
        f"targets:\n  production:\n    url: ftp://deployer@127.0.0.1:{port}/\n"
        "    logs: [/logs/access.log, /logs/access.log.1.gz, /logs/missing.log]\nmenu+:",
    )
    monkeypatch.setenv("SITEGEN_FTP_PASSWORD_PRODUCTION", "s3cret-pass")
    log = home / "logs/access.log"
    log.write_text("".join(line(n) for n in range(10)) + line(10)[:30])  # half a line
    with gzip.open(home / "logs/access.log.1.gz", "wt") as rotated:
        rotated.write("".join(line(n) for n in range(100, 105)))

    def run() -> Result:
        return sitegen(project, "analytics", "ingest", "brand", "--from-target", "production")

    first = run()
    assert first.code == 0, first.err
    assert "brand: 15 lines: 15 new events" in first.out  # 10 whole + 5 rotated
    assert "production:/logs/missing.log: no such file on the target" in first.err
    assert "s3cret" not in first.out + first.err
    with log.open("a") as stream:  # the host goes on
        stream.write(line(10)[30:] + line(11) + "not a log line\n")
    second = run()
    assert "brand: 3 lines: 2 new events" in second.out, second.out  # only what is new
    assert "production:/logs/access.log (line 3 of the new part): not in combined" in second.err
    assert "brand: 0 lines" in run().out  # nothing new
    log.write_text(line(200))  # rotated
    assert "brand: 1 lines: 1 new events" in run().out


def test_missing_credentials_and_unknown_target(
    project: Path, sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    edit(
        project / "sites/brand/site.yaml",
        "menu+:",
        "targets:\n  production:\n    url: ftp://127.0.0.1:9/\nmenu+:",
    )
    monkeypatch.delenv("SITEGEN_FTP_USER", raising=False)
    monkeypatch.delenv("SITEGEN_FTP_PASSWORD", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    result = sitegen(project, "analytics", "ingest", "brand", "--from-target", "production")
    assert result.code == 1 and "no credentials for target 'production'" in result.err
    unknown = sitegen(project, "analytics", "ingest", "brand", "--from-target", "prod")
    assert unknown.code == 1 and "has no target 'prod' (known: production)" in unknown.err


def test_a_target_url_is_validated_and_passwords_are_refused_in_yaml(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    edit(
        project / "sites/brand/site.yaml",
        "menu+:",
        "targets:\n  production:\n    url: sftp://host/\nmenu+:",
    )
    result = sitegen(project, "build", "brand")
    assert result.code == 1 and "targets.production.url: expected a URL such as" in result.err
    edit(
        project / "sites/brand/site.yaml",
        "url: sftp://host/",
        "url: ftp://u@host/\n    password: hunter2",
    )
    result = sitegen(project, "build", "brand")
    assert result.code == 1 and "credentials never live in configuration files" in result.err
    assert "hunter2" not in result.err
