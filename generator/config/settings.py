"""The typed sections of a site's config, resolved once when the network loads.

Every value here has been checked by the schema (site_schema.py), which also holds every
default: these dataclasses take the resolved values as they are and add none of their own.
Features read `site.http.precompress`, never `site.values["http"]`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from generator.config.site_schema import SITE_FIELDS
from generator.config.sourced_yaml import KeyPath
from generator.errors import ConfigError, Location

LocationOf = Callable[[KeyPath], Location | None]
_NOTIFY: Any = SITE_FIELDS["targets"].value.fields["notify"]  # type: ignore[attr-defined]
"""The schema of a target's `notify:` (a section left out is not filled in by the check:
its defaults are the schema's)."""
_AUTH: Any = SITE_FIELDS["auth"]


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """`http:`: caching and security headers."""

    html_cache: str
    data_max_age: int
    static_max_age: int
    csp: bool
    precompress: bool
    apache_options: bool
    csp_sources: dict[str, list[str]]
    referrer_policy: str


@dataclass(frozen=True, slots=True)
class CdnSettings:
    """`cdn:`: a CDN for assets, and purging after deploys."""

    asset_base: str
    """Without a trailing slash; "" when assets are served by the site itself."""
    purge_webhook: str | None


@dataclass(frozen=True, slots=True)
class ImageSettings:
    """`images:`: the responsive set made of each JPEG and PNG."""

    widths: tuple[int, ...]
    """Sorted, without repeats."""
    quality: int
    formats: tuple[str, ...]
    sizes: str
    large: int

    @classmethod
    def from_values(cls, images: dict[str, Any]) -> ImageSettings:
        """From the `images:` section as the schema resolved it."""
        return cls(
            tuple(sorted(set(images["widths"]))),
            images["quality"],
            tuple(images["formats"]),
            images["sizes"],
            images["large"],
        )


@dataclass(frozen=True, slots=True)
class ContentChecks:
    """`checks:`: what the build does about broken links and missing images."""

    links: str = "error"
    """error, warning or off."""
    images: str = "error"


@dataclass(frozen=True, slots=True)
class PrefetchSettings:
    """`prefetch:`: speculation rules."""

    enabled: bool
    threshold: float
    max: int
    eagerness: str
    links: str
    exclude: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RecommendationSettings:
    """`recommendations:`: related and next pages."""

    enabled: bool
    count: int
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RebuildRule:
    """One `rebuild:` entry: outputs to render again when project files change."""

    when: tuple[str, ...]
    then: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Mail:
    """`targets.<name>.notify.email`."""

    to: tuple[str, ...]
    sender: str
    host: str
    port: int
    starttls: bool


STATE_FOLDER = ".sitegen-state"
"""The default state folder, inside the web root: the generated .htaccess refuses dot paths."""


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
    atomic_replace: bool = False
    """Replace pages and data files in one rename too (see `Executor.atomic_all`)."""
    htpasswd: str = ""
    """Where deploy puts the site's password file (outside the web root); '' for none."""

    @property
    def state_dir(self) -> str:
        return self.state or posixpath.join(self.root.rstrip("/") or "/", STATE_FOLDER)


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """`auth:`: how visitors log in to protected sections."""

    user_file: str
    """The server path of the password file (AuthUserFile); '' when not set."""
    realm: str
    sso: str = "basic"
    """basic (each site asks) or form (one login page, a session cookie for the network)."""
    login_site: str = ""
    cookie_domain: str = ""
    session_hours: int = 8

    def beside(self, name: str) -> str:
        """The server path of a file next to the password file (the session passphrase,
        the login page's password file)."""
        return posixpath.join(posixpath.dirname(self.user_file), name)


@dataclass(frozen=True, slots=True)
class ProtectedPath:
    """One entry of `protected:`: URLs only some users may read."""

    path: str
    """A URL glob (`/members/**`)."""
    roles: tuple[str, ...]
    """Empty: anyone with the 'read' permission on the site."""
    location: Location | None


def _auth(values: dict[str, Any], site_name: str, location_of: LocationOf) -> AuthSettings:
    if values["sso"] == "form":
        for key in ("login_site", "cookie_domain", "user_file"):
            if not values.get(key):
                raise ConfigError(
                    f"auth.{key}: sso: form needs it ({_AUTH.fields[key].doc})",
                    location_of(("auth", "sso")),
                )
    return AuthSettings(
        (values.get("user_file") or "").replace("{site}", site_name),
        values["realm"],
        values["sso"],
        values.get("login_site") or "",
        (values.get("cookie_domain") or "").lstrip("."),
        values["session_hours"],
    )


def _inside(path: str, root: str) -> str:
    """`path` relative to `root` ('..'-prefixed when outside it)."""
    return posixpath.relpath(path, root) if path.startswith("/") == root.startswith("/") else ".."


def _target(
    name: str, values: dict[str, Any], location_of: LocationOf, site_name: str = ""
) -> Target:
    url = urlsplit(values["url"])
    root = posixpath.normpath(url.path or "/")
    state = values.get("state") or ""
    if state:
        state = posixpath.normpath(state)
        inside = _inside(state, root)
        if inside == "." or (
            not inside.startswith("..")
            and not any(part.startswith(".") for part in inside.split("/"))
        ):
            raise ConfigError(
                f"targets.{name}.state: '{state}' is inside the web root "
                f"'{root}' and would be published; expected a folder outside "
                "it, or one whose name starts with a dot (the generated "
                ".htaccess denies those)",
                location_of(("targets", name, "state")),
            )
    htpasswd = values.get("htpasswd") or ""
    htpasswd = posixpath.normpath(htpasswd.replace("{site}", site_name)) if htpasswd else ""
    if htpasswd and not _inside(htpasswd, root).startswith(".."):
        raise ConfigError(
            f"targets.{name}.htpasswd: '{htpasswd}' is inside the web root '{root}', where "
            "the password file could be fetched; expected a path outside it",
            location_of(("targets", name, "htpasswd")),
        )
    notify = values.get("notify") or _NOTIFY.defaults()
    email = notify.get("email") or _NOTIFY.fields["email"].defaults()
    mail = None
    if email["to"]:
        host, _, port = email["smtp"].partition(":")
        mail = Mail(tuple(email["to"]), email["sender"], host, int(port or 25), email["starttls"])
    return Target(
        name,
        url.scheme,
        unquote(url.username) if url.username else None,
        url.hostname or "",
        url.port or 21,
        root,
        tuple(values["logs"]),
        location_of(("targets", name, "url")),
        state,
        values["passive"],
        values["connections"],
        values["timeout"],
        values["retries"],
        values["keep"],
        values.get("check_url"),
        tuple(notify["webhooks"]),
        mail,
        values["atomic_replace"],
        htpasswd,
    )


def resolve_settings(
    values: dict[str, Any], location_of: LocationOf, site_name: str = ""
) -> dict[str, Any]:
    """The typed sections of a resolved, schema-checked config (defaults filled in), as
    SiteConfig's fields: `site.http`, `site.targets`, ..."""
    http = values["http"]
    images = values["images"]
    prefetch = values["prefetch"]
    recommendations = values["recommendations"]
    return dict(
        http=HttpSettings(
            http["html_cache"],
            http["data_max_age"],
            http["static_max_age"],
            http["csp"],
            http["precompress"],
            http["apache_options"],
            dict(http["csp_sources"] or {}),
            http["referrer_policy"],
        ),
        cdn=CdnSettings(
            (values["cdn"].get("asset_base") or "").rstrip("/"), values["cdn"].get("purge_webhook")
        ),
        images=ImageSettings.from_values(images),
        lazy_concurrency=values["lazy"]["concurrency"],
        checks=ContentChecks(values["checks"]["links"], values["checks"]["images"]),
        search_enabled=values["search"]["enabled"],
        prefetch=PrefetchSettings(
            prefetch["enabled"],
            prefetch["threshold"],
            prefetch["max"],
            prefetch["eagerness"],
            prefetch["links"],
            tuple(prefetch["exclude"]),
        ),
        recommendations=RecommendationSettings(
            recommendations["enabled"], recommendations["count"], tuple(recommendations["sources"])
        ),
        rebuild=tuple(
            RebuildRule(tuple(rule["when"]), tuple(rule["then"])) for rule in values["rebuild"]
        ),
        targets={
            name: _target(name, target, location_of, site_name)
            for name, target in (values.get("targets") or {}).items()
        },
        migrations=tuple(values["migrations"]),
        auth=_auth(values["auth"], site_name, location_of),
        protected=tuple(
            ProtectedPath(entry["path"], tuple(entry["roles"]), location_of(("protected", i)))
            for i, entry in enumerate(values["protected"])
        ),
    )
