"""Who may read each protected page of a site, and the site's password file.

A protected page names roles (`access: members`, `protected: [{path, roles}]`), or none:
then anyone with the `read` permission on the site may read it. A user may read it when
their roles on the site, in the build's environment, include a named role or one that
inherits it. The password file lists those readers only (bcrypt, as Apache's `$2y$`), so
one person has one password on every site of the network, and a site's file holds nobody
that site does not let in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from generator.errors import ConfigError, Location, suggest
from generator.users.model import User, Users

ANY_READER = "protected"
PUBLIC = "public"


@dataclass(frozen=True)
class Protected:
    """One protected page, as the build found it."""

    url: str
    roles: tuple[str, ...]
    """As written; empty: anyone who may read the site."""
    location: Location | None
    """What protects it (its `access:` line or the site's `protected:` entry)."""


@dataclass(frozen=True)
class SiteAccess:
    readers: Mapping[str, tuple[str, ...]]
    """Page URL -> the ids of the users who may read it (sorted; those without a password
    cannot log in and are left out)."""
    htpasswd: str
    """The site's password file: `id:$2y$...` per user who may read any of its pages."""
    notes: tuple[str, ...] = ()
    """Readers without a password, who cannot log in until they set one."""
    login_url: str = ""
    """With `auth.sso: form`: the network's login page (on the login site)."""
    login_origins: tuple[str, ...] = ()
    """On the login site only: the origins of the network's sites, where its login page
    may send a visitor back to."""
    login_users: str = ""
    """On the login site only: the login page's password file (everyone with a password
    and a role somewhere: each site then lets in only its own readers)."""


def login_users(users: Users, environment: str) -> str:
    """Everyone with a password and a role on some site of the network."""
    found = []
    for id, user in sorted(users.users.items()):
        holds = any(users.effective(user, site, environment).roles for site in users.lineages)
        if user.password_hash and holds:
            found.append(f"{id}:{apache_bcrypt(user.password_hash)}\n")
    return "".join(found)


def role_named(users: Users, name: str, location: Location | None) -> str:
    """The role `name` means (`members` is `member`); an unknown one is an error."""
    if name in users.roles:
        return name
    if name.endswith("s") and name[:-1] in users.roles:
        return name[:-1]
    raise ConfigError(
        f"access: unknown role '{name}'" + suggest(name, [*users.roles, ANY_READER, PUBLIC]),
        location,
    )


def may_read(users: Users, user: User, site: str, environment: str, roles: Sequence[str]) -> bool:
    found = users.effective(user, site, environment)
    if not roles:
        return "read" in found.permissions
    return any(users.satisfies(held, wanted) for held in found.roles for wanted in roles)


def site_access(
    users: Users, site: str, environment: str, pages: Sequence[Protected]
) -> SiteAccess:
    readers: dict[str, tuple[str, ...]] = {}
    notes: list[str] = []
    listed: dict[str, User] = {}
    by_roles: dict[tuple[str, ...], tuple[str, ...]] = {}  # a section's pages share roles
    for page in pages:
        roles = tuple(role_named(users, name, page.location) for name in page.roles)
        if roles not in by_roles:
            allowed = []
            for id, user in sorted(users.users.items()):
                if not may_read(users, user, site, environment, roles):
                    continue
                if not user.password_hash:
                    notes.append(
                        f"{user.id} may read protected pages of {site} but has no password "
                        f"(sitegen users passwd {user.id})"
                    )
                    continue
                allowed.append(id)
                listed[id] = user
            by_roles[roles] = tuple(allowed)
        readers[page.url] = by_roles[roles]
    htpasswd = "".join(
        f"{id}:{apache_bcrypt(user.password_hash)}\n" for id, user in sorted(listed.items())
    )
    return SiteAccess(readers, htpasswd, tuple(dict.fromkeys(notes)))


def apache_bcrypt(digest: str) -> str:
    """The hash as Apache's htpasswd writes bcrypt (`$2y$`, the same algorithm)."""
    return "$2y$" + digest[4:] if digest[:4] in ("$2a$", "$2b$") else digest
