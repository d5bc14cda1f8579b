"""Who runs a command, and whether they may: deploy, rollback (`publish`) and `experiments
decide --write` (`decide`) name the acting user and refuse one without the permission for
that site and environment. This guards against mistakes; against a hostile insider the
guards are the target's FTP credentials and the code host's review rules (CODEOWNERS)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from generator.errors import SitegenError
from generator.users.model import User, Users


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
