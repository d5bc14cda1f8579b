"""After a deploy or rollback: the HTTP check against a real Apache serving the FTP root,
and notifications (a webhook on loopback, email through a real SMTP server, aiosmtpd)."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.apache import _free_port, apache
from tests.conftest import Result, edit, jsonl
from tests.ftp import PASSWORD, USER


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback webhook receiver; yields its URL and the JSON bodies it got."""
    received: list[dict[str, Any]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *arguments: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def mailbox() -> Iterator[tuple[int, list[Any]]]:
    """A real SMTP server on loopback; yields its port and the messages it received."""
    from aiosmtpd.controller import Controller

    messages: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            messages.append(envelope)
            return "250 OK"

    port = _free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, messages
    finally:
        controller.stop()


def configure(project: Path, port: int, extra: str) -> None:
    edit(
        project / "sites/brand/site.yaml",
        "menu+:",
        f"targets:\n  production:\n    url: ftp://{USER}@127.0.0.1:{port}/www\n{extra}menu+:",
    )


def test_notifications_after_deploy_and_rollback(
    project: Path,
    ftp_server: tuple[int, Path],
    webhook: tuple[str, list[dict[str, Any]]],
    mailbox: tuple[int, list[Any]],
    sitegen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, home = ftp_server
    url, received = webhook
    smtp_port, messages = mailbox
    dead = f"http://127.0.0.1:{_free_port()}/nobody-listens"
    configure(
        project,
        port,
        f"    notify:\n      webhooks: [{url}, {dead}]\n"
        f"      email:\n        to: [team@example.org]\n"
        f"        sender: deploy@example.org\n"
        f"        smtp: 127.0.0.1:{smtp_port}\n",
    )
    monkeypatch.setenv("SITEGEN_FTP_PASSWORD", PASSWORD)
    (home / "www").mkdir()
    assert sitegen(project, "build", "brand").code == 0
    first = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
    assert first.code == 0, first.err  # a failed webhook is not fatal
    assert f"notification failed: webhook {dead}" in first.err
    assert [body["result"] for body in received] == ["succeeded"]
    summary = received[0]
    assert summary["kind"] == "deploy" and summary["site"] == "brand"
    assert (
        summary["to"]
        == json.loads((project / "build/.sitegen/sites/brand/manifest.json").read_text())["version"]
    )
    assert summary["uploaded"] > 0 and PASSWORD not in json.dumps(summary)
    assert len(messages) == 1 and messages[0].rcpt_tos == ["team@example.org"]
    assert b"deploy of brand to production succeeded" in messages[0].content

    edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, again.")
    assert sitegen(project, "build", "brand").code == 0
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 0
    assert sitegen(project, "rollback", "brand", "--target", "production", "--yes").code == 0
    assert [body["kind"] for body in received] == ["deploy", "deploy", "rollback"]
    assert len(messages) == 3
    assert all("promoted" not in body for body in received)

    # A concluded experiment goes live: the journal and the notifications say so.
    edit(
        project / "sites/root/site.yaml",
        "    status: running",
        "    status: concluded\n    winner: bold",
    )
    assert sitegen(project, "build", "brand").code == 0
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 0
    assert received[-1]["promoted"] == {"hero-test": "bold"}
    assert b"promoted: {'hero-test': 'bold'}" in messages[-1].content
    journal = (project / "build/.sitegen/sites/brand/journal.jsonl").read_text().splitlines()
    assert json.loads([line for line in journal if line][-1])["promoted"] == {"hero-test": "bold"}


def test_http_check_against_apache(
    project: Path,
    ftp_server: tuple[int, Path],
    sitegen: Callable[..., Result],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, home = ftp_server
    (home / "www").mkdir()
    monkeypatch.setenv("SITEGEN_FTP_PASSWORD", PASSWORD)
    site_yaml = project / "sites/brand/site.yaml"
    with apache(home / "www") as served:
        configure(project, port, f"    check_url: {served}/\n")
        assert sitegen(project, "build", "brand").code == 0
        good = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
        assert good.code == 0, good.err
        assert f"HTTP check of {served}/: served as deployed" in good.err
        shutil.copytree(home / "www", tmp_path / "stale")
    # The address serves another folder than the FTP root (a wrong document root, a
    # stale cache): the changed page is not what was deployed.
    with apache(tmp_path / "stale") as stale:
        edit(site_yaml, f"check_url: {served}/", f"check_url: {stale}/")
        edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, changed.")
        assert sitegen(project, "build", "brand").code == 0
        wrong = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
        assert wrong.code == 1
        assert (
            f"HTTP check of {stale}/articles/gamma-ray/: the server answers with other "
            "bytes than the deployed articles/gamma-ray/index.html" in wrong.err
        )
    # Nobody serves the address any more: not verified either.
    edit(project / "content/articles/gamma.md", "changed.", "changed twice.")
    assert sitegen(project, "build", "brand").code == 0
    failed = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
    assert failed.code == 1 and "not verified: HTTP check of" in failed.err
    journal = jsonl(home / "www/.sitegen-state/journal.jsonl")
    assert [entry["event"] for entry in journal] == [
        "start",
        "done",
        "start",
        "unverified",
        "start",
        "unverified",
    ]


@pytest.mark.parametrize("modules", ["full", "debian-default", "minimal"])
@pytest.mark.parametrize("allow_override", ["All", "FileInfo Indexes Options"])
def test_the_state_folder_is_never_served(
    modules: str, allow_override: str, deployable: tuple[Path, Path], sitegen: Callable[..., Result]
) -> None:
    """Apache with the modules a host may have (Debian's defaults have no mod_rewrite and
    no mod_headers; a minimal one not even mod_alias), and with AllowOverride limited as
    shared hosts do: the deploy's state (journal with names and commits, manifests,
    versions, the lock) and .htaccess are never served, and the site still is."""
    from tests.apache import DEBIAN_DEFAULT, FULL, MINIMAL, fetch

    project, remote = deployable
    assert sitegen(project, "build", "brand").code == 0
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 0
    state = remote / ".sitegen-state"
    version = next((state / "versions").iterdir()).name
    (state / "lock").mkdir()
    (state / "lock/owner.json").write_text('{"owner": "a deploy holding the lock"}')
    chosen = {"full": FULL, "debian-default": DEBIAN_DEFAULT, "minimal": MINIMAL}[modules]
    with apache(remote, chosen, allow_override) as base:
        assert fetch(f"{base}/").status == 200
        assert fetch(f"{base}/articles/alpha/").status == 200
        for path in (
            ".sitegen-state/journal.jsonl",
            ".sitegen-state/manifest.json",
            ".sitegen-state/history.json",
            f".sitegen-state/versions/{version}",
            ".sitegen-state/lock/owner.json",
            ".sitegen-state/.htaccess",
            ".sitegen-state/",
            ".htaccess",
            # Without mod_alias or mod_rewrite nothing can refuse these two (a
            # Require would be a 500 where AuthConfig may not be overridden).
            *(("_headers", "_redirects") if modules != "minimal" else ()),
        ):
            response = fetch(f"{base}/{path}")
            assert response.status in (403, 404, 500), (path, response.status)
            # Not the file (the 404 page is served instead), nor a listing of the folder.
            served = remote / path
            secret = served.read_bytes() if served.is_file() else b"journal.jsonl"
            assert secret not in response.body, path
