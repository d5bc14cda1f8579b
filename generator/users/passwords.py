"""Passwords: bcrypt hashes (the `bcrypt` package, cost 12), written into the user's entry of
the users file by changing that one line (or adding it); the password itself is never
stored, printed or passed on a command line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from generator.config.yaml_edit import lines_of, load, set_scalar
from generator.errors import ConfigError, SitegenError
from generator.files import replace_text
from generator.users.load import MINIMUM_COST
from generator.users.model import User, Users

MINIMUM_LENGTH = 10
MAXIMUM_BYTES = 72
"""bcrypt reads no more than 72 bytes of a password: a longer one is refused, not cut."""


def check_password(password: str) -> None:
    if len(password) < MINIMUM_LENGTH:
        raise SitegenError(f"a password needs at least {MINIMUM_LENGTH} characters")
    if len(password.encode("utf-8")) > MAXIMUM_BYTES:
        raise SitegenError(
            f"a password may have at most {MAXIMUM_BYTES} bytes (bcrypt reads no more)"
        )


def hash_password(password: str, cost: int = MINIMUM_COST) -> str:
    import bcrypt

    check_password(password)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=cost)).decode("ascii")


def verify(password: str, digest: str) -> bool:
    import bcrypt

    # Apache writes $2y$, which is $2b$ by another name.
    stored = digest.replace("$2y$", "$2b$", 1).encode("ascii")
    return bool(bcrypt.checkpw(password.encode("utf-8"), stored))


def write_hash(root: Path, user: User, digest: str) -> None:
    """Set `password_hash` in the user's entry of the file that declares them: the line is
    replaced where it exists, else added as the entry's first key; nothing else moves."""
    path = root / user.file
    text = path.read_text(encoding="utf-8")
    document = load(text, user.file)
    entry = document["users"][user.id]
    lines = lines_of(text)
    quoted = f'"{digest}"'
    if not hasattr(entry, "lc") or entry.fa.flow_style():
        raise ConfigError(
            f"users.{user.id}: cannot add a password_hash here: expected the entry written "
            "as an indented mapping (name:, email:, ... on lines of their own)",
            user.location,
        )
    if "password_hash" in entry:
        set_scalar(lines, entry.lc.value("password_hash")[0], quoted, user.file)
    else:
        keys = list(entry)
        if not keys:
            raise ConfigError(
                f"users.{user.id}: cannot add a password_hash to an empty entry",
                user.location,
            )
        line, column = entry.lc.key(keys[0])
        lines.insert(line, " " * column + f"password_hash: {quoted}\n")
    replace_text(path, "".join(lines))


def acting_user(users: Users, root: Path) -> tuple[User | None, str]:
    """Who runs this command: `$SITEGEN_USER` (an id or an address), else the git user's
    address mapped to a user. Also what it was known by, for messages."""
    named = os.environ.get("SITEGEN_USER", "").strip()
    if named:
        found = users.users.get(named) or users.by_email(named)
        return found, f"SITEGEN_USER={named}"
    try:
        email = subprocess.run(
            ["git", "config", "user.email"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        email = ""
    if not email:
        return None, "no SITEGEN_USER and no git user.email"
    return users.by_email(email), f"git user.email {email}"


def require(
    users: Users, root: Path, site: str, environment: str, permission: str, action: str
) -> User | None:
    """The acting user, when they have `permission` on `site` in `environment`; else an
    error saying who they are taken to be and who could. A network without users checks no
    one (None)."""
    if not users.declared:
        return None
    user, known_as = acting_user(users, root)
    if user is None:
        raise SitegenError(
            f"{action}: {known_as} names no user of {', '.join(users.files)}: set "
            "SITEGEN_USER to your user id"
        )
    if not users.can(user, site, environment, permission):
        allowed = ", ".join(u.id for u in users.who_can(site, environment, permission))
        raise SitegenError(
            f"{action}: user '{user.id}' ({known_as}) lacks the '{permission}' permission on "
            f"site '{site}' in {environment}"
            + (f" (who has it: {allowed})" if allowed else " (no one has it)")
        )
    return user
