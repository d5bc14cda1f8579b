"""Connecting to a site's target over FTP or FTPS, with credentials from the environment or
`~/.netrc` only (never from configuration, never printed).

FTPS verifies the server's certificate against the system's trust store (or the file named
by `$SITEGEN_CA_FILE`); there is no option to turn verification off.
"""

from __future__ import annotations

import ftplib
import netrc
import os
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import ftputil
import ftputil.session

from generator.config.model import SiteConfig
from generator.errors import DeployError, Location, suggest


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
    logs: tuple[str, ...]
    """Where the host writes the site's access logs (remote paths)."""
    location: Location | None = None


def target_of(site: SiteConfig, name: str) -> Target:
    """The site's target `name`, or an error naming the targets it has."""
    targets = site.values.get("targets") or {}
    if name not in targets:
        raise DeployError(f"site '{site.name}' has no target '{name}'"
                          + suggest(name, list(targets)), site.location_of(("targets",)))
    values = targets[name]
    url = urlsplit(values["url"])
    return Target(name, url.scheme, unquote(url.username) if url.username else None,
                  url.hostname or "", url.port or 21, url.path or "/", tuple(values["logs"]),
                  site.location_of(("targets", name, "url")))


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


def connect(target: Target) -> Any:
    """An `ftputil.FTPHost` on the target; a clear error (without the password) if not."""
    user, password = credentials(target)
    if target.protocol == "ftps":
        context = ssl.create_default_context(cafile=os.environ.get("SITEGEN_CA_FILE"))

        class VerifiedTLS(ftplib.FTP_TLS):
            def __init__(self) -> None:
                super().__init__(context=context)

        base: type[ftplib.FTP] = VerifiedTLS
    else:
        base = ftplib.FTP
    factory = ftputil.session.session_factory(base_class=base, port=target.port,
                                              encrypt_data_channel=True, encoding="utf-8")
    try:
        return ftputil.FTPHost(target.host, user, password, session_factory=factory)
    except (ftputil.error.FTPError, OSError, ssl.SSLError) as error:
        reason = str(error).replace(password, "***") if password else str(error)
        raise DeployError(f"cannot connect to target '{target.name}' "
                          f"({target.protocol}://{target.host}:{target.port}): {reason}",
                          target.location) from None
