"""The keys of `site.yaml` and `theme.yaml`, their types, defaults and documentation."""

from __future__ import annotations

from generator.config.compat import COMPAT_FIELDS
from generator.config.features import FEATURE_FIELDS
from generator.config.personalization_schema import PERSONALIZATION_FIELDS
from generator.config.schema import (
    CREDENTIAL_KEYS,
    Bool,
    CheckContext,
    Choice,
    Deprecated,
    Int,
    ListOf,
    MapOf,
    Number,
    Option,
    Section,
    Str,
    Url,
)
from generator.config.sourced_yaml import KeyPath


class FreeMapping(Option):
    """Free-form data for templates (`params`); any mapping is accepted."""

    expected = "a mapping"

    def check(self, value: object, path: KeyPath, context: CheckContext) -> object:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.wrong_type(value, path, context)
        _refuse_credentials(value, path, context)
        return value


def _refuse_credentials(value: object, path: KeyPath, context: CheckContext) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in CREDENTIAL_KEYS:
                raise context.fail(
                    (*path, key),
                    "credentials never live in configuration "
                    "files; sitegen reads them from the environment or ~/.netrc",
                )
            _refuse_credentials(item, (*path, key), context)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_credentials(item, (*path, index), context)


GATE = Section(
    {
        "mount": Str(
            "URL prefix the pool's pages are published under (default: /<pool>/)",
            pattern=r"/([a-z0-9][a-z0-9._-]*/)*",
            pattern_doc="a URL prefix such as /guides/ (lower case, starting and "
            "ending with '/', no '..')",
        ),
        "include": ListOf(
            Str(), "path globs (relative to the pool) a page must match", default=["**"]
        ),
        "exclude": ListOf(Str(), "path globs that keep a page out", default=[]),
        "tags": ListOf(Str(), "if set, a page must carry at least one of these tags", default=[]),
    },
    doc="the gate through which a site admits pages of a pool; `false` drops an inherited pool",
    allow_false=True,
)

MENU_ITEM = Section(
    {
        "title": Str("text of the link", required=True),
        "url": Str("target of the link", required=True),
    }
)

# Keys that may also appear inside `environments.<env>`.
SITE_FIELDS: dict[str, Option] = {
    "title": Str("the site's name, shown in titles and the feed", required=True),
    "description": Str("one sentence about the site, for meta tags and the feed", default=""),
    "base_url": Url("the public address, e.g. https://example.org/", required=True),
    "baseurl": Deprecated(moved_to="base_url", since="0.1.0", removed_in="1.0.0"),
    "language": Str(
        "BCP 47 language tag",
        default="en",
        pattern=r"[a-z]{2,3}(-[A-Za-z0-9]+)*",
        pattern_doc="a language tag such as en or en-GB",
    ),
    "theme": Str("name of a folder under themes/", required=True),
    "pools": MapOf(GATE, "content pools this site publishes, each with its gate"),
    "pagination": Section({"per_page": Int("entries per listing page", default=10, minimum=1)}),
    "feed": Section(
        {
            "enabled": Bool("publish an Atom feed at /feed.xml", default=True),
            "entries": Int("number of entries in the feed", default=20, minimum=1),
        }
    ),
    "sitemap": Bool("publish /sitemap.xml", default=True),
    "robots": Section(
        {
            "disallow": ListOf(
                Str(), "path prefixes robots.txt asks crawlers to avoid", default=[]
            ),
        }
    ),
    "menu": ListOf(MENU_ITEM, "the main navigation, in order", default=[]),
    "assets": Section(
        {
            "minify": Bool("minify CSS and JavaScript", default=True),
        }
    ),
    "params": FreeMapping("free-form values for templates (`site.params`)", default={}),
    "targets": MapOf(
        Section(
            {
                "url": Str(
                    "ftps://user@host:port/remote/root (ftps = explicit TLS, certificate "
                    "verified) or ftp://...",
                    required=True,
                    pattern=r"ftps?://([^@/\s:]+@)?[^@/\s:]+(:\d+)?(/\S*)?",
                    pattern_doc="a URL such as ftps://deploy@ftp.example.org/public_html",
                ),
                "logs": ListOf(
                    Str(), "remote paths of the host's access logs for this site", default=[]
                ),
                "state": Str(
                    "remote folder of sitegen's state (manifests, journal, lock, kept "
                    "versions); default <root>/.sitegen-state, which the generated .htaccess "
                    "denies; better outside the web root, e.g. /sitegen-state",
                    pattern=r"[^\s]+",
                    pattern_doc="a remote path",
                ),
                "passive": Bool(
                    "passive-mode data connections (active mode if false)", default=True
                ),
                "connections": Int(
                    "most connections at once (fewer if the server says so)", default=4, minimum=1
                ),
                "timeout": Int(
                    "seconds to wait for the server before retrying", default=30, minimum=1
                ),
                "retries": Int(
                    "attempts after a transient error (with back-off)", default=4, minimum=0
                ),
                "keep": Int(
                    "versions kept on the server for `sitegen rollback`", default=5, minimum=0
                ),
                "htpasswd": Str(
                    "remote path, outside the web root, where deploy puts the site's "
                    "password file for protected sections (the server reads it at "
                    "auth.user_file), e.g. /.htpasswds/{site}",
                    pattern=r"/\S+",
                    pattern_doc="an absolute remote path",
                ),
                "atomic_replace": Bool(
                    "replace pages and data files in one rename too, never "
                    "missing for a moment, at the cost of downloading and "
                    "uploading again the old content kept for rollback (by "
                    "default only assets and routing rules are; a page is set "
                    "aside first, a gap of one rename)",
                    default=False,
                ),
                "check_url": Url(
                    "where this target serves the site, for the HTTP check after a "
                    "deploy (default: no HTTP check)"
                ),
                "notify": Section(
                    {
                        "webhooks": ListOf(
                            Url(),
                            "URLs that get a JSON summary (POST) after a deploy or rollback",
                            default=[],
                        ),
                        "email": Section(
                            {
                                "to": ListOf(Str(), "recipients", default=[]),
                                "sender": Str("the From address", default="sitegen@localhost"),
                                "smtp": Str(
                                    "SMTP server as host:port (user and password: "
                                    "SITEGEN_SMTP_USER, SITEGEN_SMTP_PASSWORD)",
                                    default="localhost:25",
                                    pattern=r"[^\s:]+(:\d+)?",
                                    pattern_doc="host:port",
                                ),
                                "starttls": Bool(
                                    "upgrade the SMTP connection with STARTTLS", default=False
                                ),
                            }
                        ),
                    }
                ),
            }
        ),
        "where the site is published (passwords: SITEGEN_FTP_PASSWORD, "
        "SITEGEN_FTP_PASSWORD_<TARGET> or ~/.netrc)",
    ),
    "http": Section(
        {
            "html_cache": Str("Cache-Control of pages", default="no-cache"),
            "data_max_age": Int(
                "seconds JSON files (recommendations, manifests) may be cached",
                default=300,
                minimum=0,
            ),
            "static_max_age": Int(
                "seconds other unfingerprinted files may be cached", default=86400, minimum=0
            ),
            "csp": Bool("send a Content-Security-Policy the runtime works under", default=True),
            "precompress": Bool(
                "publish foo.html.gz next to foo.html (every text file), served "
                "by the .htaccess to clients that accept gzip (mod_rewrite: needs "
                "FollowSymLinks, or apache_options)",
                default=False,
            ),
            "apache_options": Bool(
                "the host allows Options in .htaccess (AllowOverride All or "
                "Options): turn listings and MultiViews off and "
                "SymLinksIfOwnerMatch on, which mod_rewrite needs where the "
                "server's Options are None",
                default=False,
            ),
            "csp_sources": MapOf(
                ListOf(Str()),
                "extra sources per directive, e.g. img-src: [https://cdn.example.org]",
                key_pattern=r"[a-z-]+",
            ),
            "referrer_policy": Str("Referrer-Policy", default="strict-origin-when-cross-origin"),
        },
        "caching and security headers (.htaccess and _headers)",
    ),
    "rebuild": ListOf(
        Section(
            {
                "when": ListOf(
                    Str(
                        pattern=r"(sites|content|themes|data)/\S+",
                        pattern_doc="a glob under sites/, content/, themes/ or data/ "
                        "(the folders whose changes every build notices)",
                    ),
                    "project files (globs from the project root), e.g. data/prices.yaml",
                    required=True,
                ),
                "then": ListOf(
                    Str(),
                    "URLs to render again when they change (globs), e.g. products/**",
                    required=True,
                ),
            }
        ),
        "dependencies nothing records (a script that reads a data file, a filter that opens files)",
        default=[],
    ),
    "auth": Section(
        {
            "user_file": Str(
                "the server path of the site's password file, which the web server reads "
                "(AuthUserFile), outside the web root, e.g. /home/acct/.htpasswds/{site} "
                "({site}: the site's name, so sites inheriting it get a file each, for "
                "each lets in its own readers); deploy puts it there (targets.<name>.htpasswd)",
                pattern=r"/[^\s\"]+",
                pattern_doc="an absolute server path such as /home/acct/.htpasswds/brand",
            ),
            "realm": Str("what the browser's login prompt names", default="Members"),
            "sso": Choice(
                ("basic", "form"),
                "basic: each site asks for the login (HTTP Basic); form: one login page for "
                "the network (mod_auth_form), whose session cookie every site on the shared "
                "parent domain accepts",
                default="basic",
            ),
            "login_site": Str(
                "with sso: form, the site whose /_sg/login/ page everyone logs in on",
                pattern=r"[a-z0-9][a-z0-9_-]*",
                pattern_doc="a site's name",
            ),
            "cookie_domain": Str(
                "with sso: form, the parent domain of every site's host (example.org for "
                "www.example.org and shop.example.org): the session cookie's domain",
                pattern=r"[A-Za-z0-9.-]+\.[A-Za-z0-9-]+",
                pattern_doc="a domain such as example.org",
            ),
            "session_hours": Int("with sso: form, how long a login lasts", default=8, minimum=1),
        },
        "how visitors log in to protected sections (docs/users.md)",
    ),
    "protected": ListOf(
        Section(
            {
                "path": Str(
                    "the URLs protected, a glob such as /members/**",
                    required=True,
                    pattern=r"/\S*",
                    pattern_doc="a URL glob starting with /, such as /members/**",
                ),
                "roles": ListOf(
                    Str(),
                    "the roles that may read (and the roles that inherit them); default: "
                    "anyone with the 'read' permission on the site",
                    default=[],
                ),
            }
        ),
        "sections only some users may read (besides pages with `access:` in front matter)",
        default=[],
    ),
    "lazy": Section(
        {
            "concurrency": Int("lazy components loaded at once", default=2, minimum=1),
        },
        "lazy components (templates under components/, placed with lazy())",
    ),
    "cdn": Section(
        {
            "asset_base": Url(
                "URL the fingerprinted assets are served from (a CDN in front of "
                "the host), e.g. https://cdn.example.org; set it per environment"
            ),
            "purge_webhook": Url("URL that gets the changed URLs (POST, JSON) after each deploy"),
        },
        "a CDN for assets, and purging after deploys",
    ),
    "images": Section(
        {
            "widths": ListOf(
                Int(minimum=16),
                "widths of the responsive set (never above the source's)",
                default=[320, 640, 960, 1280, 1920],
            ),
            "quality": Int("encoder quality", default=78, minimum=1),
            "formats": ListOf(
                Choice(("avif", "webp")),
                "modern formats besides the source's "
                "(AVIF only where the installed Pillow writes it)",
                default=["avif", "webp"],
            ),
            "sizes": Str("the `sizes` attribute", default="(min-width: 48rem) 48rem, 100vw"),
            "large": Int(
                "width from which an image counts as large (the first large image of a "
                "page loads eagerly, with fetchpriority=high)",
                default=400,
                minimum=1,
            ),
        },
        "responsive images made from the JPEG and PNG files of images/ folders",
    ),
    "search": Section(
        {
            "enabled": Bool(
                "a static search index (Pagefind) of the site's pages, and a search page at "
                "/search/ (the theme's search.html)",
                default=False,
            ),
        },
        "site search",
    ),
    "checks": Section(
        {
            "links": Choice(
                ("error", "warning", "off"),
                "a link in Markdown to a page or file the site does not publish",
                default="error",
            ),
            "images": Choice(
                ("error", "warning", "off"),
                "an image in Markdown, or a front-matter `image:`, that the site does not have",
                default="error",
            ),
        },
        "what the build checks in pages: errors stop it, warnings are printed",
    ),
    "prefetch": Section(
        {
            "enabled": Bool("speculation rules on every page", default=True),
            "threshold": Number(
                "least probability (from the traffic) that a visitor goes to a "
                "page next, for that page to be prefetched",
                default=0.2,
                minimum=0,
                maximum=1,
            ),
            "max": Int("pages prefetched from one page", default=3, minimum=0),
            "eagerness": Choice(
                ("immediate", "eager", "moderate", "conservative"),
                "when the likeliest next pages are prefetched",
                default="eager",
            ),
            "links": Choice(
                ("moderate", "conservative", "none"),
                "same-site links prefetched on hover (moderate) or touch "
                "(conservative), with or without traffic data",
                default="moderate",
            ),
            "exclude": ListOf(
                Str(pattern=r"/\S*", pattern_doc="a path pattern such as /account/*"),
                "URL patterns never prefetched (besides variants and logout-like "
                "URLs), e.g. /account/*",
                default=[],
            ),
        },
        "predictive prefetching (speculation rules)",
    ),
    "migrations": ListOf(
        Str(),
        "data and configuration migrations this site has been "
        "through (ids); `sitegen rollback` refuses to go back past one",
        default=[],
    ),
    "recommendations": Section(
        {
            "enabled": Bool("precompute related and next pages", default=True),
            "count": Int("pages per list", default=5, minimum=1),
            "sources": ListOf(
                Str(),
                "other sites of the network whose pages may be recommended (with absolute URLs)",
                default=[],
            ),
        }
    ),
    **PERSONALIZATION_FIELDS,
    **FEATURE_FIELDS,
    **COMPAT_FIELDS,
}

ENVIRONMENT = Section(
    SITE_FIELDS, doc="values that replace the site's in one environment", enforce_required=False
)

SITE_SCHEMA = Section(
    {
        "sitegen": Int(
            "version of this file's format (`sitegen migrate` upgrades it)", default=1, minimum=1
        ),
        "schema": Deprecated(moved_to="sitegen", since="0.2.0", removed_in="1.0.0"),
        "extends": Str(
            "name of the parent site", pattern=r"[a-z0-9][a-z0-9_-]*", pattern_doc="a site name"
        ),
        "abstract": Bool("config-only site that is inherited but never built", default=False),
        **SITE_FIELDS,
        "environments": MapOf(ENVIRONMENT, "overlays applied with `--env NAME`"),
    },
    enforce_required=False,
)

THEME_SCHEMA = Section(
    {
        "sitegen": Int(
            "version of this file's format (`sitegen migrate` upgrades it)", default=1, minimum=1
        ),
        "extends": Str("name of the parent theme"),
        "description": Str("what the theme is for", default=""),
        "css": ListOf(
            Str(), "Sass or CSS entry points under the theme's scss/ or css/", default=[]
        ),
        "js": ListOf(Str(), "JavaScript entry points under the theme's js/", default=[]),
    }
)

__all__ = ["SITE_SCHEMA", "THEME_SCHEMA"]
