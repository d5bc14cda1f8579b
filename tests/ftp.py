"""A real FTP server for tests: pyftpdlib in-process on loopback, with one user.

`serving` takes a handler class (to inject faults) and attributes for it; the server loop
runs in a thread that also closes it, so stopping never races the loop."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

USER = "deployer"
PASSWORD = "s3cret-pass"


@contextmanager
def serving(
    home: Path,
    handler: Any = None,
    threaded: bool = False,
    server_attributes: dict[str, Any] | None = None,
    **attributes: Any,
) -> Iterator[int]:
    """An FTP server on 127.0.0.1 for `home`; yields its port. `attributes` go to the
    handler class, `server_attributes` to the server (such as max_cons_per_ip)."""
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer, ThreadedFTPServer

    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(home), perm="elradfmw")
    handler_class = type(
        "Handler", (handler or FTPHandler,), {"authorizer": authorizer, **attributes}
    )
    server = (ThreadedFTPServer if threaded else FTPServer)(("127.0.0.1", 0), handler_class)
    for name, value in (server_attributes or {}).items():
        setattr(server, name, value)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
        server.close_all()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield server.address[1]
    finally:
        stop.set()
        thread.join(timeout=10)


def _serve_in_child(home: str, connection: Any) -> None:
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, home, perm="elradfmw")
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer})
    server = FTPServer(("127.0.0.1", 0), handler)
    connection.send(server.address[1])
    server.serve_forever(timeout=0.5, handle_exit=False)


@contextmanager
def serving_process(home: Path) -> Iterator[int]:
    """An FTP server for `home` in a process of its own (a fork): the client's threads and
    the server do not share one interpreter lock, which halves the time of tests that
    deploy hundreds of times. No fault injection: use `serving` for that."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    process = context.Process(target=_serve_in_child, args=(str(home), child), daemon=True)
    process.start()
    try:
        if not parent.poll(20):
            raise AssertionError("the FTP server process did not start")
        yield int(parent.recv())
    finally:
        process.terminate()
        process.join(timeout=10)


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    home = tmp_path / "ftp-home"
    (home / "logs").mkdir(parents=True)
    with serving_process(home) as port:
        yield port, home


@pytest.fixture
def deployable(
    project: Path, ftp_server: tuple[int, Path], monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    """The fixture network with a `production` target on the FTP server for the brand site
    (password in the environment); returns the project and the remote web root."""
    port, home = ftp_server
    site_yaml = project / "sites/brand/site.yaml"
    site_yaml.write_text(
        site_yaml.read_text().replace(
            "menu+:",
            f"targets:\n  production:\n    url: ftp://{USER}@127.0.0.1:{port}/www\nmenu+:",
            1,
        )
    )
    monkeypatch.setenv("SITEGEN_FTP_PASSWORD", PASSWORD)
    (home / "www").mkdir()
    return project, home / "www"
