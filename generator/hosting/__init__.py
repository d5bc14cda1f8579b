"""What the web server is told: `.htaccess` for Apache, `_headers` and `_redirects` for
Netlify-style hosts. Both carry the site's HTTP policy (policy.py: caching and security
headers) and the routing of prebuilt variants (routing.py); `server_files` assembles them,
and nothing else writes server rules."""

from __future__ import annotations

from collections.abc import Sequence

from generator.config.model import SiteConfig
from generator.hosting.policy import apache_rules, netlify_rules
from generator.hosting.routing import RoutedPage, htaccess, netlify_headers, netlify_redirects

PREVIEW_APACHE = [
    "# A preview build: nothing of it is to be indexed.",
    "<IfModule mod_headers.c>",
    'Header always set X-Robots-Tag "noindex"',
    "</IfModule>",
]
PREVIEW_NETLIFY = ["/*", "  X-Robots-Tag: noindex"]


def server_files(
    site: SiteConfig,
    pages: Sequence[RoutedPage],
    pixel: str,
    preview: bool = False,
    hidden: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """`.htaccess`, `_headers` and `_redirects` (path: text) for a site whose routed pages
    are `pages`; a preview build gets `X-Robots-Tag: noindex` on everything. Pages whose
    URLs are `hidden` (protected) are routed only by .htaccess, which is never served:
    `_headers` and `_redirects` are plain files on an Apache host."""
    policy = site.http
    public = [page for page in pages if page.url not in hidden]
    return {
        ".htaccess": htaccess(
            pages,
            site.personalization,
            [*(PREVIEW_APACHE if preview else []), *apache_rules(policy, pixel)],
            policy.apache_options,
        ),
        "_headers": netlify_headers(
            public, [*netlify_rules(policy, pixel), *(PREVIEW_NETLIFY if preview else [])]
        ),
        "_redirects": netlify_redirects(public),
    }
