"""Server rules that serve prebuilt variants: Apache `.htaccess`, Netlify-style `_headers`
and `_redirects`.

Cookies the visitor runtime writes (with the configured prefix, `sg_` by default):

- `sg_seg`: the ids of every segment the visitor matches, sorted, joined by `.`;
- `sg_x_<experiment key>`: `<bucket version>.<arm>`, or `<bucket version>.-` when the
  experiment does not enrol the visitor.

Apache 2.4 (mod_rewrite, mod_headers; no RewriteMap, which .htaccess cannot declare): for
each page with variants, one rule per variant, most specific first, rewrites the page's URL
to the variant's file when the cookies say so. mod_rewrite adds `Vary: Cookie` only when a
cookie condition was evaluated and matched, so the headers are set by mod_headers for every
page that has variants and for every variant: `Vary: Cookie`, `Cache-Control: private,
no-cache` (no shared cache may store them; the browser revalidates after the runtime changed
a cookie) and, on variant URLs, `X-Robots-Tag: noindex`.

Netlify-style hosts match cookies by name only, never by value, so `_redirects` cannot route
to a variant; it says so, `_headers` sets the same headers, and those hosts rely on the
runtime's fallback.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from generator.config.personalization import Personalization
from generator.content.page import NOT_FOUND_URL
from generator.personalize.variants import Variant, specificity

CACHE_CONTROL = "private, no-cache"
REFUSED_PATHS = (
    r"(^|/)\.(?!well-known(/|$))"
    r"|^/?_(headers|redirects)$"
    r"|(^|/)#[^/]*#$|\.(bak|conf|dist|fla|in[ci]|log|orig|psd|sh|sql|sw[op])$|~$"
)
"""URL paths never served: a part that starts with a dot (other than /.well-known/), the
Netlify-style rule files, and backup and source files editors and tools leave (h5bp's
list)."""
VARIANT_FOLDER = "_variants"


@dataclass(frozen=True, slots=True)
class RoutedPage:
    """A page with variants: its URL, its file, its variants and their files."""

    url: str
    path: str
    variants: tuple[tuple[Variant, str], ...]
    """(variant, the variant file's path) pairs."""


def experiment_versions(personalization: Personalization) -> dict[str, int]:
    return {e.key: e.bucket_version for e in personalization.experiments}


@dataclass(frozen=True, slots=True)
class CookieTest:
    """The request carries cookie `name` with a value the regular expression `pattern`
    matches whole (`/` never occurs in it: it sits inside an ap_expr `/.../`)."""

    name: str
    pattern: str

    @property
    def expression(self) -> str:
        """The test as a regular expression over the whole Cookie header (PCRE for Apache,
        `re` for `sitegen serve`: the same text means the same in both)."""
        return f"(^|;\\s*){re.escape(self.name)}={self.pattern}(;|$)"

    def matches(self, cookie_header: str) -> bool:
        return re.search(self.expression, cookie_header) is not None


@dataclass(frozen=True, slots=True)
class Route:
    """Serve the file at `path` for a request of `url` whose cookies pass every test."""

    url: str
    path: str
    tests: tuple[CookieTest, ...]


def _variant_tests(
    variant: Variant, prefix: str, versions: dict[str, int]
) -> tuple[CookieTest, ...]:
    tests = [
        CookieTest(f"{prefix}x_{key}", re.escape(f"{versions.get(key, 1)}.{arm}"))
        for key, arm in variant.arms
    ]
    tests += [
        CookieTest(f"{prefix}seg", f"([^;]*\\.)?{re.escape(segment)}(\\.[^;]*)?")
        for segment in variant.segments
    ]
    return tuple(tests)


def routes(pages: Sequence[RoutedPage], personalization: Personalization) -> tuple[Route, ...]:
    """The routing model: for each page with variants, one route per variant, most specific
    first; the first route of a URL whose tests pass decides, none means the page's own
    file. `.htaccess` is one rendering of it, `sitegen serve` evaluates it (`choose`)."""
    prefix = personalization.cookie_prefix
    versions = experiment_versions(personalization)
    found = []
    for page in pages:
        for variant, path in sorted(page.variants, key=lambda item: specificity(item[0])):
            found.append(Route(page.url, path, _variant_tests(variant, prefix, versions)))
    return tuple(found)


def choose(model: Sequence[Route], url: str, cookie_header: str) -> str | None:
    """The variant file a request of `url` with `cookie_header` is served, or None (the
    page's own file): what the generated `.htaccess` makes Apache do."""
    for route in model:
        if route.url == url and all(test.matches(cookie_header) for test in route.tests):
            return route.path
    return None


def routes_document(model: Sequence[Route]) -> list[dict[str, object]]:
    """The model as JSON (the build keeps it beside the manifest, for `sitegen serve`)."""
    return [
        {"url": r.url, "path": r.path, "tests": [[t.name, t.pattern] for t in r.tests]}
        for r in model
    ]


def routes_of_document(document: object) -> tuple[Route, ...]:
    if not isinstance(document, list):
        raise ValueError("expected a list of routes")
    return tuple(
        Route(
            str(entry["url"]),
            str(entry["path"]),
            tuple(CookieTest(str(name), str(pattern)) for name, pattern in entry["tests"]),
        )
        for entry in document
    )


def htaccess(
    pages: Sequence[RoutedPage],
    personalization: Personalization,
    policy: Sequence[str] = (),
    options: bool = False,
) -> str:
    """The site's .htaccess: `policy` (caching and security headers) first, then the
    routing of variants, whose headers override the policy's for pages with variants.

    Only core, mod_dir, mod_alias, mod_mime, mod_headers and mod_expires directives, each
    behind <IfModule>, and none that needs `AllowOverride Options` unless `options` says the
    host allows it: an `Options` line where it is not allowed is a 500 on every URL, and
    mod_rewrite in .htaccess is a 403 on every URL where the server's Options have neither
    FollowSymLinks nor SymLinksIfOwnerMatch. So variants are routed by `DirectoryIndex`
    inside `<If>` (mod_dir, AllowOverride Indexes), only where mod_headers can send
    `Vary: Cookie` with them; elsewhere the runtime shows the visitor's variant."""
    lines = [
        "# Generated by sitegen: serves prebuilt variants by cookie. Edits are overwritten.",
        f"ErrorDocument 404 {NOT_FOUND_URL}",
    ]
    if options:
        lines += [
            "# http.apache_options: this host allows Options in .htaccess.",
            "Options -Indexes -MultiViews +SymLinksIfOwnerMatch",
        ]
    lines += [
        "# Folders without an index page are never listed: 404, by mod_alias (which",
        "# needs only AllowOverride FileInfo; Options -Indexes needs Options).",
        "<IfModule mod_alias.c>",
        "<If \"-d %{REQUEST_FILENAME} && !-f '%{REQUEST_FILENAME}/index.html'\">",
        "Redirect 404",
        "</If>",
        "",
        "# Not served (404): paths with a part that starts with a dot (the deploy's",
        "# state folder, .htaccess) except /.well-known/, _headers and _redirects,",
        "# backup and source files. No Require, so hosts that do not allow AuthConfig",
        "# overrides still serve the site. (The deploy also puts a `Require all denied`",
        "# .htaccess in its state folder, for hosts without mod_alias.)",
        f'RedirectMatch 404 "{REFUSED_PATHS}"',
        "</IfModule>",
        *policy,
        "",
    ]
    if pages:
        lines += [
            "# Variants: a page's URL is served from the variant file its cookies name,",
            "# most specific first; only where Vary: Cookie can go with it.",
            "<IfModule mod_headers.c>",
            "<IfModule mod_dir.c>",
        ]
        url = None
        for route in routes(pages, personalization):
            first = route.url != url
            if first:
                lines.append(f"# {route.url}")
                url = route.url
            tests = [f"%{{REQUEST_URI}} == '{route.url}'"]
            tests += [f"%{{HTTP_COOKIE}} =~ /{test.expression}/" for test in route.tests]
            element = "If" if first else "ElseIf"
            lines += [f'<{element} "{" && ".join(tests)}">', f"DirectoryIndex /{route.path}"]
            lines.append(f"</{element}>")
        lines += ["</IfModule>", "</IfModule>", ""]
    lines += ["<IfModule mod_headers.c>"]
    if pages:
        # (.gz)?: with http.precompress, the request becomes the twin before headers are set
        alternatives = "|".join(re.escape(page.url) + r"(index\.html(\.gz)?)?" for page in pages)
        lines += [
            f'<If "%{{REQUEST_URI}} =~ m#^({alternatives})$#">',
            "Header merge Vary Cookie",
            f'Header set Cache-Control "{CACHE_CONTROL}"',
            "</If>",
            f'<If "%{{REQUEST_URI}} =~ m#^/{VARIANT_FOLDER}/#">',
            "Header merge Vary Cookie",
            f'Header set Cache-Control "{CACHE_CONTROL}"',
            "</If>",
            "# noindex only where a variant URL was asked for: a variant served at its",
            "# page's own URL must not tell a crawler to drop that URL.",
            f'<If "%{{THE_REQUEST}} =~ m#^\\S+ /{VARIANT_FOLDER}/#">',
            'Header set X-Robots-Tag "noindex"',
            "</If>",
        ]
    lines += ["</IfModule>"]
    return "\n".join(lines) + "\n"


def netlify_headers(pages: Sequence[RoutedPage], policy: Sequence[str] = ()) -> str:
    lines = ["# Generated by sitegen.", *policy]
    for page in pages:
        lines += [page.url, "  Vary: Cookie", f"  Cache-Control: {CACHE_CONTROL}"]
    if pages:
        lines += [
            f"/{VARIANT_FOLDER}/*",
            "  Vary: Cookie",
            f"  Cache-Control: {CACHE_CONTROL}",
            "  X-Robots-Tag: noindex",
        ]
    return "\n".join(lines) + "\n"


def netlify_redirects(pages: Sequence[RoutedPage]) -> str:
    lines = [
        "# Generated by sitegen.",
        "# Netlify-style rules match a cookie by its name only, never by its value, so they",
        "# cannot pick a visitor's variant: on these hosts the sitegen runtime swaps the",
        "# variant in (see docs/personalization.md).",
    ]
    lines += [f"# {page.url}: {len(page.variants)} variant(s)" for page in pages]
    return "\n".join(lines) + "\n"
