"""The exceptions a user can cause. `cli.py` catches `SitegenError` once and prints it."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a source file, shown as `file:line`."""

    file: str
    """Path of the file, relative to the project root when it lies inside it."""
    line: int
    """1-based line number; 0 when the whole file is meant."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class SitegenError(Exception):
    """An error the user can fix; printed as `file:line: message` without a traceback."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message, location)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message

    def report(self) -> str:
        """The error as the command line prints it: `file:line: message`, or
        `error: message` when it has no place."""
        return f"error: {self}" if self.location is None else str(self)


class ConfigError(SitegenError):
    """Site, theme or environment configuration is invalid."""


class ContentError(SitegenError):
    """A content file (front matter, path, URL) is invalid."""


class BuildError(SitegenError):
    """Rendering or asset compilation failed."""


class DeployError(SitegenError):
    """Publishing to a remote target failed."""


URL_PASSWORD = re.compile(r"(?P<start>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^@/\s]*@")


def redact_url(text: str) -> str:
    """`text` with the password of any URL in it (`scheme://user:password@host`) replaced by
    `***`: a password written into a URL is never printed."""
    return URL_PASSWORD.sub(r"\g<start>***@", text)


def close_matches(name: str, known: list[str] | tuple[str, ...] | set[str], count: int = 3) -> str:
    """` (did you mean 'a', 'b' or 'c'?)` for up to `count` close names, or nothing (for
    long lists, where naming everything would bury the message)."""
    import difflib

    close = difflib.get_close_matches(name, sorted(known), n=count, cutoff=0.6)
    if not close:
        return ""
    quoted = [f"'{match}'" for match in close]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f" (did you mean {listed}?)"


def suggest(name: str, known: list[str] | tuple[str, ...] | set[str]) -> str:
    """Return ` (did you mean 'x'?)` for the closest known name, or the list of known names."""
    import difflib

    candidates = sorted(known)
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    if candidates:
        return f" (known: {', '.join(candidates)})"
    return ""
