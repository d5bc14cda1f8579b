"""What `sitegen users list|show|who-can` print: plain text tables, one fact per line."""

from __future__ import annotations

from generator.errors import SitegenError, suggest
from generator.users.model import PERMISSIONS, Effective, User, Users

ACTIONS = {
    "read": "read",
    "edit": "edit",
    "publish": "publish",
    "deploy": "publish",
    "rollback": "publish",
    "decide": "decide",
    "conclude": "decide",
    "manage-users": "manage-users",
}
"""What `who-can` accepts: the permissions, and the commands that need them."""


def permission_of(action: str) -> str:
    if action not in ACTIONS:
        raise SitegenError(f"unknown action '{action}'" + suggest(action, list(ACTIONS)))
    return ACTIONS[action]


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        + "\n"
        for row in rows
    )


def list_users(users: Users) -> str:
    if not users.declared:
        return "no users file: the network declares no one (users.yaml at the root)\n"
    rows = [["id", "name", "email", "handle", "password", "grants"]]
    for id, user in sorted(users.users.items()):
        grants = ", ".join(
            f"{g.site}: {'+'.join(g.roles) or 'none'}"
            + (f" ({'/'.join(g.environments)})" if g.environments else "")
            for g in user.grants
        )
        rows.append(
            [
                id,
                user.name or "-",
                user.email or "-",
                f"@{user.handle}" if user.handle else "-",
                "set" if user.password_hash else "-",
                grants or "-",
            ]
        )
    return table(rows)


def _origin(users: Users, site: str, found: Effective) -> str:
    grant = found.grant
    if grant is None:
        return "no grant reaches this site"
    how = "revoked" if not grant.roles else "granted"
    if grant.site == site:
        return f"{how} on {site} ({grant.location})"
    return f"{how} on {grant.site} ({grant.location}), inherited"


def show_user(users: Users, user: User, sites: list[str], environment: str) -> str:
    head = user.name or user.id
    if user.email:
        head += f" <{user.email}>"
    if user.handle:
        head += f" @{user.handle}"
    lines = [
        f"{user.id}: {head}\n",
        f"  declared at {user.location}; password {'set' if user.password_hash else 'not set'}\n",
        f"  in environment {environment}:\n",
    ]
    rows = [["site", "roles", "permissions", "from"]]
    for site in sites:
        found = users.effective(user, site, environment)
        rows.append(
            [
                site,
                ", ".join(found.roles) or "-",
                ", ".join(found.permissions) or "-",
                _origin(users, site, found),
            ]
        )
    lines += ["  " + line for line in table(rows).splitlines(keepends=True)]
    return "".join(lines)


def who_can(users: Users, site: str, environment: str, action: str) -> str:
    permission = permission_of(action)
    if site not in users.lineages:
        raise SitegenError(f"no site '{site}'" + suggest(site, list(users.lineages)))
    allowed = users.who_can(site, environment, permission)
    head = f"{action} on {site} ({environment})"
    if permission != action:
        head += f": the '{permission}' permission"
    if not users.declared:
        return head + ": anyone (the network declares no users)\n"
    if not allowed:
        return head + ": no one\n"
    rows = [["user", "roles", "from"]]
    for user in allowed:
        found = users.effective(user, site, environment)
        rows.append([user.id, ", ".join(found.roles), _origin(users, site, found)])
    return head + ":\n" + "".join("  " + line for line in table(rows).splitlines(True))


def summary(users: Users) -> str:
    if not users.declared:
        return "no users file: the network declares no one\n"
    custom = [role for role in users.roles.values() if role.location is not None]
    return (
        f"{', '.join(users.files)}: {len(users.users)} people, {len(users.roles)} roles "
        f"({len(custom)} the network's own), {len(PERMISSIONS)} permissions: valid\n"
    )
