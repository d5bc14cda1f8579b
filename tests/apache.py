"""A real Apache 2.4 (Debian's) on a loopback port, serving a folder with AllowOverride All."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from tests.browser import require

MODULES = Path("/usr/lib/apache2/modules")

CONFIG = """
ServerRoot "{root}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{root}/httpd.pid"
ErrorLog "{root}/error.log"
LogLevel warn
LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{{Referer}}i\\" \\"%{{User-Agent}}i\\"" combined
CustomLog "{root}/access.log" combined
{load_modules}
TypesConfig /etc/mime.types
DirectoryIndex index.html
DocumentRoot "{docroot}"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{docroot}">
    {options}
    AllowOverride {allow_override}
    Require all granted
</Directory>
# As Debian's apache2.conf: .htaccess and .htpasswd files are never served.
<FilesMatch "^\\.ht">
    Require all denied
</FilesMatch>
"""

FULL = (
    "mpm_event",
    "authz_core",
    "dir",
    "mime",
    "alias",
    "rewrite",
    "headers",
    "expires",
    "filter",
    "deflate",
    "setenvif",
)
"""Debian's defaults plus what the generated .htaccess can use (rewrite, headers,
expires)."""
DEBIAN_DEFAULT = (
    "mpm_event",
    "access_compat",
    "alias",
    "auth_basic",
    "authn_core",
    "authn_file",
    "authz_core",
    "authz_host",
    "authz_user",
    "autoindex",
    "deflate",
    "dir",
    "env",
    "filter",
    "mime",
    "negotiation",
    "reqtimeout",
    "setenvif",
    "status",
)
"""The modules a fresh `apt-get install apache2` enables: no rewrite, headers or expires."""
MINIMAL = ("mpm_event", "authz_core", "dir", "mime")
"""What a stripped-down host may have: not even mod_alias."""


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(process: subprocess.Popen[bytes], port: int, name: str) -> None:
    """Wait until a server we started accepts connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise AssertionError(f"{name} exited: {output}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} did not start") from None
            time.sleep(0.05)


class Served(str):
    """The base URL (http://127.0.0.1:<port>), with the server's access log beside it."""

    access_log: Path


@contextmanager
def apache(
    docroot: Path,
    modules: tuple[str, ...] = FULL,
    allow_override: str = "All",
    options: str | None = None,
) -> Iterator[Served]:
    """Serve `docroot` with `modules` loaded, `AllowOverride allow_override` and, if given,
    `Options options` on it (else Apache's default, FollowSymLinks); yields the base URL,
    whose `access_log` is Apache's combined log."""
    binary = require("/usr/sbin/apache2")
    with tempfile.TemporaryDirectory() as root:
        port = _free_port()
        config = Path(root) / "httpd.conf"
        load_modules = "\n".join(
            f"LoadModule {name}_module {MODULES}/mod_{name}.so" for name in modules
        )
        config.write_text(
            CONFIG.format(
                root=root,
                port=port,
                load_modules=load_modules,
                docroot=docroot.resolve(),
                allow_override=allow_override,
                options=f"Options {options}" if options else "",
            )
        )
        process = subprocess.Popen(
            [binary, "-X", "-f", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            wait_listening(process, port, "apache2")
            served = Served(f"http://127.0.0.1:{port}")
            served.access_log = Path(root) / "access.log"
            yield served
        finally:
            process.terminate()
            process.wait(timeout=10)
            log = Path(root) / "error.log"
            if log.exists() and "error" in log.read_text().lower():
                print(log.read_text())


def fetch(url: str, cookie: str | None = None, encoding: str | None = None) -> Response:
    headers = {"Cookie": cookie} if cookie else {}
    if encoding:
        headers["Accept-Encoding"] = encoding
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Response(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.headers, error.read())


SESSION_MODULES = ("auth_form", "request", "session", "session_cookie", "session_crypto")
"""What a form login needs besides a fresh Debian's modules (all shipped by Debian's
apache2 package, enabled with a2enmod)."""

VIRTUAL_HOST = """
<VirtualHost *:{port}>
    ServerName {name}
    DocumentRoot "{docroot}"
    <Directory "{docroot}">
        AllowOverride All
        Require all granted
    </Directory>
</VirtualHost>
"""


@contextmanager
def virtual_hosts(hosts: dict[str, Path], modules: tuple[str, ...], port: int) -> Iterator[None]:
    """One Apache on `port` serving each host name from its folder (name-based virtual
    hosts, as a host serves the sites of a network)."""
    binary = require("/usr/sbin/apache2")
    with tempfile.TemporaryDirectory() as root:
        first = next(iter(hosts.values()))
        config = CONFIG.format(
            root=root,
            port=port,
            load_modules="\n".join(
                f"LoadModule {name}_module {MODULES}/mod_{name}.so" for name in modules
            ),
            docroot=first.resolve(),
            allow_override="All",
            options="",
        ) + "".join(
            VIRTUAL_HOST.format(port=port, name=name, docroot=folder.resolve())
            for name, folder in hosts.items()
        )
        (Path(root) / "httpd.conf").write_text(config)
        process = subprocess.Popen(
            [binary, "-X", "-f", str(Path(root) / "httpd.conf")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_listening(process, port, "apache2")
            yield
        finally:
            process.terminate()
            process.wait(timeout=10)
