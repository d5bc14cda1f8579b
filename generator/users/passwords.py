"""Passwords: bcrypt hashes (the `bcrypt` package, cost 12), written into the user's entry of
the users file by changing that one line (or adding it); the password itself is never
stored, printed or passed on a command line."""

from __future__ import annotations

from pathlib import Path

from generator.config.yaml_edit import lines_of, load, set_scalar
from generator.errors import ConfigError, SitegenError
from generator.files import replace_text
from generator.users.load import MINIMUM_COST
from generator.users.model import User

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
