"""A real FTP server for tests: pyftpdlib in-process on loopback, with one user."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

USER = "deployer"
PASSWORD = "s3cret-pass"


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

    home = tmp_path / "ftp-home"
    (home / "logs").mkdir(parents=True)
    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(home), perm="elradfmw")
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer})
    server = FTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.1},
                              daemon=True)
    thread.start()
    try:
        yield server.address[1], home
    finally:
        server.close_all()
