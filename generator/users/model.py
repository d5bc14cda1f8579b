"""People, roles and grants, resolved: who may do what on which site.

A grant gives a user roles on a site; it applies to the site's descendants (the sites that
`extends` it, directly or not) unless a nearer site grants that user something else or
revokes (`none`). A grant may be limited to some environments: on a site, the entries that
apply to the environment decide, and a site with none that applies passes the question to
its parent. A role's permissions are its own plus those of the role it inherits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from generator.errors import Location, SitegenError, suggest

PERMISSIONS = ("read", "edit", "publish", "decide", "manage-users")
"""read: protected sections; edit: a site's folder and the pools it uses; publish: deploy,
rollback; decide: conclude experiments (`experiments decide --write`); manage-users: the
users file and other people's passwords."""

REVOKE = "none"
"""The role a grant names to take away what a parent site granted."""


@dataclass(frozen=True)
class Role:
    name: str
    inherits: str | None
    permissions: tuple[str, ...]
    """What this role adds to the one it inherits."""
    location: Location | None
    """Where it is declared (None: a built-in role)."""
    description: str = ""


BUILT_IN_ROLES = (
    Role("viewer", None, ("read",), None, "reads protected sections open to every reader"),
    Role("member", "viewer", (), None, "reads members-only sections"),
    Role("author", "member", ("edit",), None, "edits the site's folder and its pools"),
    Role("editor", "author", ("decide",), None, "concludes experiments"),
    Role("publisher", "editor", ("publish",), None, "deploys and rolls back"),
    Role("admin", "publisher", ("manage-users",), None, "manages people and their grants"),
)


@dataclass(frozen=True)
class Grant:
    """Roles a user has on a site (and its descendants), maybe only in some environments."""

    site: str
    roles: tuple[str, ...]
    """Empty: revoked (`none`)."""
    environments: tuple[str, ...] | None
    """None: every environment."""
    location: Location

    def applies_to(self, environment: str) -> bool:
        return self.environments is None or environment in self.environments


@dataclass(frozen=True)
class User:
    id: str
    name: str
    email: str
    handle: str
    """The user's name on the code host (GitHub, GitLab), for CODEOWNERS."""
    password_hash: str
    """A bcrypt hash ('' when the user never logs in to protected sections)."""
    grants: tuple[Grant, ...]
    location: Location
    file: str
    """The users file that declares them (users.yaml, or sites/<site>/users.yaml)."""


@dataclass(frozen=True)
class Effective:
    """What a user may do on one site in one environment, and which grant says so."""

    roles: tuple[str, ...]
    permissions: tuple[str, ...]
    grant: Grant | None
    """The grant that decided (None: no grant reaches this site)."""


@dataclass(frozen=True)
class Users:
    roles: Mapping[str, Role]
    users: Mapping[str, User]
    lineages: Mapping[str, tuple[str, ...]]
    """Each site of the network, then its parent, up to its root."""
    files: tuple[str, ...] = ()
    """The users files read (display paths); none: the network declares no one."""

    @property
    def declared(self) -> bool:
        """Whether the network has a users file: without one, no command checks anyone."""
        return bool(self.files)

    def ancestry(self, role: str) -> tuple[str, ...]:
        """The role, the role it inherits, ... the first of the chain."""
        chain = [role]
        while (parent := self.roles[chain[-1]].inherits) is not None:
            chain.append(parent)
        return tuple(chain)

    def permissions_of(self, role: str) -> tuple[str, ...]:
        found = {p for name in self.ancestry(role) for p in self.roles[name].permissions}
        return tuple(p for p in PERMISSIONS if p in found)

    def satisfies(self, role: str, required: str) -> bool:
        """Whether `role` is `required` or inherits it."""
        return required in self.ancestry(role)

    def effective(self, user: User, site: str, environment: str) -> Effective:
        for ancestor in self.lineages[site]:
            applying = [
                grant
                for grant in user.grants
                if grant.site == ancestor and grant.applies_to(environment)
            ]
            if applying:
                roles = tuple(dict.fromkeys(role for g in applying for role in g.roles))
                permissions = {p for role in roles for p in self.permissions_of(role)}
                return Effective(
                    roles, tuple(p for p in PERMISSIONS if p in permissions), applying[0]
                )
        return Effective((), (), None)

    def can(self, user: User, site: str, environment: str, permission: str) -> bool:
        return permission in self.effective(user, site, environment).permissions

    def who_can(self, site: str, environment: str, permission: str) -> list[User]:
        return [
            user
            for _, user in sorted(self.users.items())
            if self.can(user, site, environment, permission)
        ]

    def named(self, id: str) -> User:
        if id not in self.users:
            raise SitegenError(f"no user '{id}'" + suggest(id, list(self.users)))
        return self.users[id]

    def by_email(self, email: str) -> User | None:
        wanted = email.strip().lower()
        return next((u for u in self.users.values() if u.email.lower() == wanted), None)
