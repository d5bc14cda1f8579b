"""Connecting to a site's target over FTP or FTPS, with credentials from the environment or
`~/.netrc` only (never from configuration, never printed).

FTPS verifies the server's certificate against the system's trust store (or the file named
by `$SITEGEN_CA_FILE`); there is no option to turn verification off.
"""

from __future__ import annotations

import ftplib
import netrc
import os
import posixpath
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import ftputil
import ftputil.session

from generator.config.model import SiteConfig
from generator.errors import DeployError, Location, suggest


@dataclass(frozen=True, slots=True)
class Mail:
    """Where a deploy summary is emailed (`targets.<name>.notify.email`)."""

    to: tuple[str, ...]
    sender: str
    host: str
    port: int
    starttls: bool


@dataclass(frozen=True, slots=True)
class Target:
    """A place a site is published to (`targets.<name>` in site.yaml)."""

    name: str
    protocol: str
    """ftps (explicit TLS, certificate verified) or ftp."""
    user: str | None
    """From the URL; else the environment or ~/.netrc."""
    host: str
    port: int
    root: str
    """The remote web root."""
    logs: tuple[str, ...] = ()
    """Where the host writes the site's access logs (remote paths)."""
    location: Location | None = None
    state: str = ""
    """The remote folder of sitegen's state; '' means `<root>/.sitegen-state`."""
    passive: bool = True
    connections: int = 4
    timeout: int = 30
    retries: int = 4
    keep: int = 5
    """Versions kept on the server for rollback."""
    check_url: str | None = None
    webhooks: tuple[str, ...] = ()
    mail: Mail | None = field(default=None)

    @property
    def state_dir(self) -> str:
        return self.state or posixpath.join(self.root.rstrip("/") or "/", STATE_FOLDER)


STATE_FOLDER = ".sitegen-state"
"""The default state folder, inside the web root: the generated .htaccess refuses dot paths."""


def target_of(site: SiteConfig, name: str) -> Target:
    """The site's target `name`, or an error naming the targets it has."""
    targets = site.values.get("targets") or {}
    if name not in targets:
        raise DeployError(f"site '{site.name}' has no target '{name}'"
                          + suggest(name, list(targets)), site.location_of(("targets",)))
    values = targets[name]
    url = urlsplit(values["url"])
    root = posixpath.normpath(url.path or "/")
    state = values.get("state") or ""
    if state:
        state = posixpath.normpath(state)
        inside = posixpath.relpath(state, root) if state.startswith("/") == root.startswith(
            "/") else ".."
        if inside == "." or (not inside.startswith("..")
                             and not any(part.startswith(".") for part in inside.split("/"))):
            raise DeployError(f"targets.{name}.state: '{state}' is inside the web root "
                              f"'{root}' and would be published; expected a folder outside "
                              "it, or one whose name starts with a dot (the generated "
                              ".htaccess denies those)",
                              site.location_of(("targets", name, "state")))
    notify = values.get("notify") or {}
    email = notify.get("email") or {}
    mail = None
    if email.get("to"):
        host, _, port = email["smtp"].partition(":")
        mail = Mail(tuple(email["to"]), email["sender"], host, int(port or 25),
                    email["starttls"])
    return Target(name, url.scheme, unquote(url.username) if url.username else None,
                  url.hostname or "", url.port or 21, root, tuple(values["logs"]),
                  site.location_of(("targets", name, "url")), state, values["passive"],
                  values["connections"], values["timeout"], values["retries"], values["keep"],
                  values.get("check_url"), tuple(notify.get("webhooks") or ()), mail)


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
    raise DeployError(f"no credentials for target '{target.name}' ({target.host}): expected "
                      f"a user in the URL or SITEGEN_FTP_USER, and {variable} or "
                      "SITEGEN_FTP_PASSWORD, or a ~/.netrc entry for that host",
                      target.location)


def open_host(target: Target) -> Any:
    """An `ftputil.FTPHost` on the target. The server's errors (a 421 "too many connections"
    among them) come as ftputil raises them: the connection pool learns from them."""
    user, password = credentials(target)
    timeout = target.timeout
    if target.protocol == "ftps":
        context = ssl.create_default_context(cafile=os.environ.get("SITEGEN_CA_FILE"))

        class VerifiedTLS(ftplib.FTP_TLS):
            def __init__(self, **options: Any) -> None:
                super().__init__(context=context, timeout=timeout, **options)

        base: type[ftplib.FTP] = VerifiedTLS
    else:
        class Plain(ftplib.FTP):
            def __init__(self, **options: Any) -> None:
                super().__init__(timeout=timeout, **options)

        base = Plain
    factory = ftputil.session.session_factory(base_class=base, port=target.port,
                                              use_passive_mode=target.passive,
                                              encrypt_data_channel=True, encoding="utf-8")
    return ftputil.FTPHost(target.host, user, password, session_factory=factory)


def connect(target: Target) -> Any:
    """`open_host`, with a clear error (without the password) if the server refuses."""
    try:
        return open_host(target)
    except (ftputil.error.FTPError, OSError, EOFError) as error:
        raise DeployError(f"cannot connect to target '{target.name}' "
                          f"({target.protocol}://{target.host}:{target.port}): "
                          f"{hide(str(error), credentials(target)[1])}",
                          target.location) from None


def hide(text: str, password: str) -> str:
    """`text` without the password in it."""
    return text.replace(password, "***") if password else text
