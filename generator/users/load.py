"""Reading the users files: `users.yaml` at the network's root, and additions in a site's
folder (`sites/<site>/users.yaml`), checked with the file and line of anything wrong.

    roles:                     # the network's own roles (root file only)
      partner:
        inherits: member
        permissions: [read]    # what it adds to the role it inherits
    users:
      ana:
        name: Ana Lima
        email: ana@example.org
        handle: ana-lima       # on the code host, for CODEOWNERS
        password_hash: "$2b$12$..."   # written by `sitegen users passwd ana`
        grants:
          northwind: editor    # and every site below it...
          harbor: none         # ...but this one
          trailhead: [author, {role: publisher, environments: [staging]}]

A site's file may add people, with grants on that site and the sites below it only: whoever
edits a site's folder cannot grant themselves anything elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from generator.config.model import Network
from generator.config.network import file_format
from generator.config.schema import (
    CheckContext,
    ListOf,
    MapOf,
    Option,
    Section,
    Str,
    dotted,
)
from generator.config.sourced_yaml import KeyPath, SourcedDocument, load_sourced_yaml_file
from generator.errors import ConfigError, Location, suggest
from generator.users import USERS_FILE
from generator.users.model import BUILT_IN_ROLES, PERMISSIONS, REVOKE, Grant, Role, User, Users

BCRYPT = re.compile(r"\$2[aby]\$(?P<cost>\d\d)\$[./A-Za-z0-9]{53}")
MINIMUM_COST = 12
"""The least bcrypt cost (work factor) a stored hash may have."""

ID_PATTERN = r"[a-z0-9][a-z0-9_.-]*"


class GrantValue(Option):
    """A role, `none`, or a list of roles and `{role: R, environments: [...]}` entries."""

    expected = "a role, 'none', or a list of roles and {role, environments} entries"

    def check(self, value: Any, path: KeyPath, context: CheckContext) -> Any:
        entries = value if isinstance(value, list) else [value]
        if not entries:
            raise context.fail(path, f"expected {self.expected}, got an empty list")
        result: list[tuple[str, tuple[str, ...] | None, KeyPath]] = []
        for index, entry in enumerate(entries):
            where = (*path, index) if isinstance(value, list) else path
            if isinstance(entry, str):
                result.append((entry, None, where))
                continue
            if not isinstance(entry, dict):
                raise self.wrong_type(entry, where, context)
            checked = GRANT_ENTRY.check(entry, where, context)
            result.append((checked["role"], tuple(checked["environments"]) or None, where))
        return result


GRANT_ENTRY = Section(
    {
        "role": Str("the role granted", required=True),
        "environments": ListOf(Str(), "where the grant applies (default: everywhere)"),
    }
)

USER = Section(
    {
        "name": Str("the person's name", default=""),
        "email": Str(
            "their address; `git config user.email` is mapped to them",
            default="",
            pattern=r"[^@\s]+@[^@\s]+",
            pattern_doc="an e-mail address",
        ),
        "handle": Str(
            "their user name on the code host (for CODEOWNERS)",
            default="",
            pattern=r"@?[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:/[A-Za-z0-9._-]+)?",
            pattern_doc="a code-host user name such as ana-lima (or org/team)",
        ),
        "password_hash": Str("a bcrypt hash, written by `sitegen users passwd`", default=""),
        "grants": MapOf(GrantValue(), "roles by site", key_pattern=r"[A-Za-z0-9_.-]+"),
    }
)

ROLE = Section(
    {
        "inherits": Str("the role this one extends", required=True),
        "permissions": ListOf(Str(), "what it adds: " + ", ".join(PERMISSIONS)),
        "description": Str("what the role is for", default=""),
    }
)

ROOT_FILE = Section(
    {
        "sitegen": Option("the format of the file"),
        "roles": MapOf(ROLE, "the network's own roles", key_pattern=ID_PATTERN),
        "users": MapOf(USER, "the people of the network", key_pattern=ID_PATTERN),
    }
)
SITE_FILE = Section({key: ROOT_FILE.fields[key] for key in ("sitegen", "users")})


def users_files(root: Path) -> list[tuple[Path, str | None]]:
    """The users files of the network under `root`: the root one first (site None)."""
    found: list[tuple[Path, str | None]] = []
    if (root / USERS_FILE).is_file():
        found.append((root / USERS_FILE, None))
    for path in sorted((root / "sites").glob(f"*/{USERS_FILE}")):
        found.append((path, path.parent.name))
    return found


def load_users(network: Network) -> Users:
    """Every person, role and grant of the network, checked against its sites, roles and
    environments. A network without users files has no one (and no command checks)."""
    root = network.root
    lineages = {name: site.lineage for name, site in network.sites.items()}
    roles: dict[str, Role] = {role.name: role for role in BUILT_IN_ROLES}
    documents: list[tuple[SourcedDocument, str, str | None, dict[str, Any]]] = []
    for path, site in users_files(root):
        display = str(path.relative_to(root))
        document = load_sourced_yaml_file(path, display)
        if document.data is None or document.data == {}:
            documents.append((document, display, site, {}))
            continue
        if not isinstance(document.data, dict):
            raise ConfigError("expected a mapping with 'users' (and 'roles')", Location(display, 1))
        file_format(document, display)
        if site is not None and "roles" in document.data:
            raise ConfigError(
                f"roles: roles are the network's: declare them in {USERS_FILE} at the root",
                _where(document, ("roles",), display=display),
            )
        _refuse_plaintext(document, display)
        context = CheckContext(partial(_where, document, display=display))
        values = (ROOT_FILE if site is None else SITE_FILE).check(document.data, (), context)
        documents.append((document, display, site, values))
        if site is None:
            roles.update(_roles(values["roles"], document, display))
    _check_roles(roles)
    users: dict[str, User] = {}
    emails: dict[str, User] = {}
    for document, display, site, values in documents:
        for id, entry in (values.get("users") or {}).items():
            where = _where(document, ("users", id), display=display)
            if id in users:
                raise ConfigError(
                    f"users.{id}: user '{id}' is already declared at {users[id].location}; "
                    "a person is declared once for the whole network",
                    where,
                )
            user = _user(id, entry, document, display, site, roles, lineages, network)
            if user.email and user.email.lower() in emails:
                other = emails[user.email.lower()]
                raise ConfigError(
                    f"users.{id}.email: {user.email} is already user '{other.id}''s "
                    f"({other.location}); an address names one person",
                    _where(document, ("users", id, "email"), display=display),
                )
            users[id] = user
            if user.email:
                emails[user.email.lower()] = user
    return Users(roles, users, lineages, tuple(display for _, display, _, _ in documents))


def _where(document: SourcedDocument, path: KeyPath, *, display: str) -> Location:
    while path not in document.locations and path:
        path = path[:-1]
    return document.locations.get(path, Location(display, 1))


def _refuse_plaintext(document: SourcedDocument, display: str) -> None:
    people = document.data.get("users")
    if not isinstance(people, dict):
        return
    for id, entry in people.items():
        if isinstance(entry, dict) and "password" in entry:
            raise ConfigError(
                f"users.{id}.password: a password is never written down: run `sitegen users "
                f"passwd {id}`, which stores a bcrypt hash as 'password_hash'",
                _where(document, ("users", id, "password"), display=display),
            )


def _roles(declared: Mapping[str, Any], document: SourcedDocument, display: str) -> dict[str, Role]:
    built_in = {role.name for role in BUILT_IN_ROLES}
    roles = {}
    for name, entry in declared.items():
        where = _where(document, ("roles", name), display=display)
        if name in built_in:
            raise ConfigError(
                f"roles.{name}: '{name}' is a built-in role; give yours another name and "
                f"'inherits: {name}'",
                where,
            )
        if name in (REVOKE, "protected", "public"):
            raise ConfigError(
                f"roles.{name}: '{name}' has a meaning of its own (grants: none; access: "
                "protected, public); give the role another name",
                where,
            )
        for index, permission in enumerate(entry["permissions"]):
            if permission not in PERMISSIONS:
                raise ConfigError(
                    f"roles.{name}.permissions[{index}]: unknown permission '{permission}'"
                    + suggest(permission, PERMISSIONS),
                    _where(document, ("roles", name, "permissions", index), display=display),
                )
        roles[name] = Role(
            name,
            entry["inherits"],
            tuple(entry["permissions"]),
            where,
            entry["description"],
        )
    return roles


def _check_roles(roles: Mapping[str, Role]) -> None:
    for role in roles.values():
        chain = [role.name]
        while (parent := roles[chain[-1]].inherits) is not None:
            declared = roles[chain[-1]]
            if parent not in roles:
                raise ConfigError(
                    f"roles.{declared.name}.inherits: unknown role '{parent}'"
                    + suggest(parent, list(roles)),
                    declared.location,
                )
            if parent in chain:
                cycle = " -> ".join([*chain[chain.index(parent) :], parent])
                raise ConfigError(
                    f"roles.{declared.name}.inherits: cycle in role inheritance: {cycle}",
                    declared.location,
                )
            chain.append(parent)


def _user(
    id: str,
    entry: Mapping[str, Any],
    document: SourcedDocument,
    display: str,
    site: str | None,
    roles: Mapping[str, Role],
    lineages: Mapping[str, tuple[str, ...]],
    network: Network,
) -> User:
    def where(*path: str | int) -> Location:
        return _where(document, ("users", id, *path), display=display)

    digest = entry["password_hash"]
    if digest:
        match = BCRYPT.fullmatch(digest)
        if match is None:
            raise ConfigError(
                f"users.{id}.password_hash: expected a bcrypt hash ($2b$12$ then 53 "
                f"characters), got {digest[:7]!r}...: run `sitegen users passwd {id}`",
                where("password_hash"),
            )
        if int(match["cost"]) < MINIMUM_COST:
            raise ConfigError(
                f"users.{id}.password_hash: bcrypt cost {int(match['cost'])} is below "
                f"{MINIMUM_COST}: run `sitegen users passwd {id}` for a stronger hash",
                where("password_hash"),
            )
    grants = []
    for granted_site, entries in entry["grants"].items():
        if granted_site not in lineages:
            raise ConfigError(
                f"users.{id}.grants.{granted_site}: site '{granted_site}' does not exist"
                + suggest(granted_site, list(lineages)),
                where("grants", granted_site),
            )
        if site is not None and site not in lineages[granted_site]:
            raise ConfigError(
                f"users.{id}.grants.{granted_site}: {display} may grant roles on site "
                f"'{site}' and the sites below it, not on '{granted_site}' (grant it in "
                f"{USERS_FILE} at the root)",
                where("grants", granted_site),
            )
        for role, environments, path in entries:
            located = _where(document, path, display=display)
            if role != REVOKE and role not in roles:
                raise ConfigError(
                    f"{dotted(path)}: unknown role '{role}'" + suggest(role, [*roles, REVOKE]),
                    located,
                )
            for environment in environments or ():
                if environment not in network.environments:
                    raise ConfigError(
                        f"{dotted(path)}: unknown environment '{environment}'"
                        + suggest(environment, network.environments),
                        located,
                    )
            grants.append(
                Grant(
                    granted_site,
                    () if role == REVOKE else (role,),
                    environments,
                    located,
                )
            )
    return User(
        id,
        entry["name"],
        entry["email"],
        entry["handle"].lstrip("@"),
        digest,
        tuple(grants),
        where(),
        display,
    )
