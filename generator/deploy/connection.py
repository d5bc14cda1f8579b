"""Connecting to a site's target over FTP or FTPS, with credentials from the environment or
`~/.netrc` only (never from configuration, never printed).

FTPS verifies the server's certificate against the system's trust store (or the file named
by `$SITEGEN_CA_FILE`); there is no option to turn verification off.
"""

from __future__ import annotations

import ftplib
import netrc
import os
import socket
import ssl
from typing import Any

import ftputil
import ftputil.session

from generator.config.model import SiteConfig
from generator.config.settings import Target
from generator.errors import DeployError, suggest


def target_of(site: SiteConfig, name: str) -> Target:
    """The site's target `name` (checked when the config loaded), or an error naming the
    targets it has."""
    if name not in site.targets:
        raise DeployError(
            f"site '{site.name}' has no target '{name}'" + suggest(name, list(site.targets)),
            site.location_of(("targets",)),
        )
    return site.targets[name]


def credentials(target: Target) -> tuple[str, str]:
    """User (the URL's, else `$SITEGEN_FTP_USER`) and password (`$SITEGEN_FTP_PASSWORD_<TARGET>`,
    else `$SITEGEN_FTP_PASSWORD`), else the `~/.netrc` entry of the target's host."""
    variable = "SITEGEN_FTP_PASSWORD_" + target.name.upper().replace("-", "_")
    user = target.user or os.environ.get("SITEGEN_FTP_USER")
    password = os.environ.get(variable, os.environ.get("SITEGEN_FTP_PASSWORD"))
    if user and password is not None:
        return user, password
    try:
        entry = netrc.netrc().authenticators(target.host)
    except (FileNotFoundError, netrc.NetrcParseError):
        entry = None
    if entry is not None and (user or entry[0]):
        return user or entry[0], entry[2] or ""
    raise DeployError(
        f"no credentials for target '{target.name}' ({target.host}): expected "
        f"a user in the URL or SITEGEN_FTP_USER, and {variable} or "
        "SITEGEN_FTP_PASSWORD, or a ~/.netrc entry for that host",
        target.location,
    )


class _TrackedType:
    """Remembers the transfer type the connection is in (TYPE A or I): SIZE is refused in
    ASCII mode by some servers (proftpd), and listings switch to it behind our back."""

    transfer_type = "A"
    """What the last TYPE command asked for; FTP starts in ASCII."""

    def putcmd(self, line: str) -> None:
        if line[:5].upper() == "TYPE ":
            self.transfer_type = line[5:].strip().upper()
        super().putcmd(line)  # type: ignore[misc]


class PlainSession(_TrackedType, ftplib.FTP):
    pass


class VerifiedTLSSession(_TrackedType, ftplib.FTP_TLS):
    """Explicit FTPS whose data connections resume the control connection's TLS session,
    as vsftpd (`require_ssl_reuse=YES`, its default) and proftpd (unless
    `NoSessionReuseRequired`) insist: a data connection with a new session is refused."""

    def auth(self) -> str:
        try:
            return super().auth()
        except (ftplib.error_reply, ftplib.error_perm, ftplib.error_temp) as error:
            raise NoTLS("AUTH TLS refused: " + str(error).splitlines()[0]) from None

    def ntransfercmd(self, cmd: str, rest: int | str | None = None) -> Any:
        connection, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:  # type: ignore[attr-defined]
            control: Any = self.sock
            connection = self.context.wrap_socket(
                connection, server_hostname=self.host, session=control.session
            )
        return connection, size


class NoTLS(ftplib.error_perm):
    """The server refused AUTH TLS: it offers no FTPS."""


def tls_context() -> ssl.SSLContext:
    """The system's trust store, or the CA file `$SITEGEN_CA_FILE` names."""
    ca_file = os.environ.get("SITEGEN_CA_FILE")
    if ca_file and not os.path.isfile(ca_file):
        raise DeployError(
            f"SITEGEN_CA_FILE names '{ca_file}', which is not a file; expected "
            "the PEM file of the CA that signed the FTP server's certificate"
        )
    try:
        return ssl.create_default_context(cafile=ca_file or None)
    except ssl.SSLError as error:
        raise DeployError(
            f"SITEGEN_CA_FILE '{ca_file}' holds no usable certificate: {error}"
        ) from None


def open_host(target: Target) -> Any:
    """An `ftputil.FTPHost` on the target. The server's errors (a 421 "too many connections"
    among them) come as ftputil raises them: the connection pool learns from them."""
    user, password = credentials(target)
    timeout = target.timeout
    base: type[ftplib.FTP]
    if target.protocol == "ftps":
        context = tls_context()

        class Verified(VerifiedTLSSession):
            def __init__(self, **options: Any) -> None:
                super().__init__(context=context, timeout=timeout, **options)

        base = Verified
    else:

        class Plain(PlainSession):
            def __init__(self, **options: Any) -> None:
                super().__init__(timeout=timeout, **options)

        base = Plain
    factory = ftputil.session.session_factory(
        base_class=base,
        port=target.port,
        use_passive_mode=target.passive,
        encrypt_data_channel=True,
        encoding="utf-8",
    )
    return ftputil.FTPHost(target.host, user, password, session_factory=factory)


def connect(target: Target) -> Any:
    """`open_host`, with a clear error (without the password) if the server refuses."""
    try:
        return open_host(target)
    except (ftputil.error.FTPError, OSError, EOFError) as error:
        reply = hide(server_reply(error), credentials(target)[1])
        hint = ""
        if "AUTH TLS refused" in reply:
            hint = (
                "; the server refused AUTH TLS, so it offers no FTPS: ask the host for "
                "FTPS, or use an ftp:// URL if it has none"
            )
        elif isinstance(error, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY" in reply:
            hint = (
                "; the server's certificate is not trusted: set SITEGEN_CA_FILE to the CA "
                "that signed it"
            )
        elif is_connection_cap(error):
            hint = f"; the server limits connections: set targets.{target.name}.connections lower"
        raise DeployError(
            f"cannot connect to target '{target.name}' "
            f"({target.protocol}://{target.host}:{target.port}): {reply}{hint}",
            target.location,
        ) from None


def server_reply(error: BaseException) -> str:
    """What the server (or the network) said, in one line: an FTP reply such as
    `552 Quota exceeded`, or the socket or TLS error. ftputil's "Debugging info" line and
    other continuation lines are left out."""
    if isinstance(error, ftputil.error.FTPError):
        text = error.strerror or type(error).__name__
    elif isinstance(error, EOFError):
        text = "the server closed the connection"
    elif isinstance(error, TimeoutError | socket.timeout):
        text = "timed out"
    else:
        text = str(error) or type(error).__name__
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def is_connection_cap(error: BaseException) -> bool:
    """A refusal because too many connections are open: 421 (pure-ftpd, vsftpd,
    pyftpdlib), or proftpd's `530 Sorry, the maximum number of clients...`."""
    reply = server_reply(error)
    return reply.startswith("421") or (
        reply.startswith("530")
        and any(words in reply.lower() for words in ("maximum number", "too many"))
    )


def hide(text: str, password: str) -> str:
    """`text` without the password in it."""
    return text.replace(password, "***") if password else text
