"""One HTTP policy per site: caching and security headers, for Apache (`.htaccess`, with
mod_headers, mod_expires, mod_deflate; h5bp's server-configs-apache as the reference) and for
hosts that read Netlify-style `_headers`.

- fingerprinted assets (`name.<hex>.ext`): `public, max-age=31536000, immutable`;
- HTML: `no-cache` (revalidated on every visit; pages with variants and variants are
  `private, no-cache`, set by the routing rules);
- JSON (recommendation lists, manifests): short-lived, `http.data_max_age`;
- other static files (favicons, unfingerprinted images): `http.static_max_age`;
- the tracking pixel: `no-store` (every hit must reach the access log);
- security: a Content-Security-Policy under which the runtime works, without
  'unsafe-inline' (a header for framing, objects and base URLs; a <meta> policy per page for
  scripts, allowing the runtime's and the page's own inline scripts by their sha256, the
  runtime's configuration being a JSON data block), `X-Content-Type-Options: nosniff`,
  `Referrer-Policy`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from generator.config.model import SiteConfig
from generator.config.settings import HttpSettings

FINGERPRINTED = (
    r"\.[0-9a-f]{8,}\.(css|js|mjs|png|jpe?g|gif|webp|avif|svg|woff2?|ttf|ico"
    r"|html)"
)
IMMUTABLE = "public, max-age=31536000, immutable"
FEED_MAX_AGE = 3600


HEADER_POLICY = "frame-ancestors 'self'; object-src 'none'; base-uri 'self'"
"""The Content-Security-Policy header: what a <meta> policy cannot say. Scripts are governed
by each page's <meta> policy (`page_policy`), which can allow that page's own speculation
rules by their hash: with hashes in a policy, Chromium ignores 'inline-speculation-rules'."""


def page_policy(
    site: SiteConfig, page_hashes: list[str], style_hashes: list[str] | None = None
) -> str | None:
    """The <meta> Content-Security-Policy of one page: same-origin everything, the page's
    inline scripts (the runtime's, speculation rules) and style attributes (image
    placeholders) by hash, the tracking collector (if any) for beacons, and the site's
    `http.csp_sources`."""
    if not site.http.csp:
        return None
    sources: dict[str, list[str]] = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *page_hashes],
        "style-src": ["'self'", *(style_hashes or [])],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
    collector = site.personalization.tracking.collector
    if collector:
        parts = urlsplit(collector)
        sources["connect-src"].append(f"{parts.scheme}://{parts.netloc}")
    cdn = site.cdn.asset_base
    if cdn:
        parts = urlsplit(cdn)
        for directive in ("script-src", "style-src", "img-src", "font-src"):
            sources[directive].append(f"{parts.scheme}://{parts.netloc}")
    for directive, extra in site.http.csp_sources.items():
        sources.setdefault(directive, [])
        sources[directive] += [value for value in extra if value not in sources[directive]]
    return "; ".join(f"{directive} {' '.join(found)}" for directive, found in sources.items())


def apache_rules(policy: HttpSettings, pixel: str) -> list[str]:
    """The caching and security part of `.htaccess` (before the routing's own headers,
    which override Cache-Control for pages with variants)."""
    quote = '"'
    lines = [
        "# Caching and security (one policy per site; see docs/performance.md).",
        "<IfModule mod_mime.c>",
        "AddType image/webp .webp",
        "AddType image/avif .avif",
        "AddType application/manifest+json .webmanifest",
        "AddType font/woff2 .woff2",
        "AddCharset utf-8 .html .css .js .json .xml .txt .svg",
        "</IfModule>",
        "<IfModule mod_deflate.c>",
        "AddOutputFilterByType DEFLATE text/html text/css text/plain text/xml "
        "application/javascript text/javascript application/json application/xml "
        "application/rss+xml application/atom+xml image/svg+xml "
        "application/manifest+json",
        "</IfModule>",
        "<IfModule mod_expires.c>",
        "ExpiresActive On",
        f'ExpiresDefault "access plus {policy.static_max_age} seconds"',
        "</IfModule>",
        "<IfModule mod_headers.c>",
        'Header always set X-Content-Type-Options "nosniff"',
        f'Header always set Referrer-Policy "{policy.referrer_policy}"',
        f'Header set Cache-Control "public, max-age={policy.static_max_age}"',
        "</IfModule>",
    ]

    def files(pattern: str, seconds: int, cache_control: str, *more: str) -> list[str]:
        """Expires and Cache-Control (and more headers) for the files `pattern` matches."""
        return [
            f'<FilesMatch "{pattern}">',
            "<IfModule mod_expires.c>",
            f'ExpiresDefault "access plus {seconds} seconds"',
            "</IfModule>",
            "<IfModule mod_headers.c>",
            f'Header set Cache-Control "{cache_control}"',
            *more,
            "</IfModule>",
            "</FilesMatch>",
        ]

    csp = (
        [f"Header set Content-Security-Policy {quote}{HEADER_POLICY}{quote}"] if policy.csp else []
    )
    # (\.gz)?: a precompressed twin is cached like its original.
    lines += files("\\.html(\\.gz)?$", 0, policy.html_cache, *csp)
    lines += files(
        "\\.json(\\.gz)?$", policy.data_max_age, f"public, max-age={policy.data_max_age}"
    )
    lines += files(f"{FINGERPRINTED}(\\.gz)?$", 31536000, IMMUTABLE)
    if policy.precompress:
        lines += _precompressed_rules()
    # Feeds: an hour, as h5bp (readers poll; a new entry need not show at once).
    lines += files("\\.(xml|atom|rss)$", 0, "no-cache")
    lines += files("^feed\\.xml$", FEED_MAX_AGE, f"public, max-age={FEED_MAX_AGE}")
    # The pixel: never stored, so every view reaches the access log; no Expires either,
    # which would contradict no-store.
    lines += [
        f"<If \"%{{REQUEST_URI}} == '/{pixel}'\">",
        "<IfModule mod_expires.c>",
        "ExpiresActive Off",
        "</IfModule>",
        "<IfModule mod_headers.c>",
        'Header set Cache-Control "no-store"',
        "Header unset Expires",
        "</IfModule>",
        "</If>",
    ]
    return lines


def _precompressed_rules() -> list[str]:
    """Serve foo.css.gz for foo.css to clients that accept gzip, as foo.css's type."""
    types = {
        "html": "text/html; charset=utf-8",
        "css": "text/css; charset=utf-8",
        "js": "text/javascript; charset=utf-8",
        "json": "application/json",
        "svg": "image/svg+xml",
        "xml": "application/xml",
        "txt": "text/plain; charset=utf-8",
    }
    lines = [
        "# Precompressed files (http.precompress).",
        "<IfModule mod_rewrite.c>",
        "RewriteEngine On",
        "RewriteCond %{HTTP:Accept-Encoding} \\bgzip\\b",
        "RewriteCond %{REQUEST_FILENAME}.gz -f",
        f"RewriteRule ^(.*\\.({'|'.join(types)}))$ $1.gz [L]",
        "</IfModule>",
        "<IfModule mod_setenvif.c>",
        "SetEnvIfNoCase Request_URI \\.gz$ no-gzip",
        "</IfModule>",
    ]
    for extension, mime in types.items():
        lines += [
            f'<FilesMatch "\\.{extension}\\.gz$">',
            f'ForceType "{mime}"',
            "<IfModule mod_headers.c>",
            "Header set Content-Encoding gzip",
            "Header append Vary Accept-Encoding",
            "</IfModule>",
            "</FilesMatch>",
        ]
    return lines


def netlify_rules(policy: HttpSettings, pixel: str) -> list[str]:
    lines = [
        "/*",
        "  X-Content-Type-Options: nosniff",
        f"  Referrer-Policy: {policy.referrer_policy}",
    ]
    if policy.csp:
        lines.append(f"  Content-Security-Policy: {HEADER_POLICY}")
    # Paths that do not overlap: such hosts combine the headers of every rule that matches.
    lines += [
        "/assets/*",
        f"  Cache-Control: {IMMUTABLE}",
        "/_sg/components/*",
        f"  Cache-Control: {IMMUTABLE}",
        "/_sg/rec/*",
        f"  Cache-Control: public, max-age={policy.data_max_age}",
        f"/{pixel}",
        "  Cache-Control: no-store",
    ]
    return lines


def is_fingerprinted(path: str) -> bool:
    return re.search(FINGERPRINTED + "$", path) is not None
