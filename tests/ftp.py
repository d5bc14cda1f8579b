"""A real FTP server for tests: pyftpdlib in-process on loopback, with one user.

`serving` takes a handler class (to inject faults) and attributes for it; the server loop
runs in a thread that also closes it, so stopping never races the loop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

USER = "deployer"
PASSWORD = "s3cret-pass"


@contextmanager
def serving(home: Path, handler: Any = None, threaded: bool = False,
            server_attributes: dict[str, Any] | None = None,
            **attributes: Any) -> Iterator[int]:
    """An FTP server on 127.0.0.1 for `home`; yields its port. `attributes` go to the
    handler class, `server_attributes` to the server (such as max_cons_per_ip)."""
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer, ThreadedFTPServer

    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(home), perm="elradfmw")
    handler_class = type("Handler", (handler or FTPHandler,),
                         {"authorizer": authorizer, **attributes})
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


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    home = tmp_path / "ftp-home"
    (home / "logs").mkdir(parents=True)
    with serving(home) as port:
        yield port, home
