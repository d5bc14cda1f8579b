"""The HTTP check after a deploy: the home page and a changed page, fetched from the
address the target serves (`targets.<name>.check_url`), must be the deployed bytes; and a
protected page must ask for a login (a host that ignores .htaccess would serve it to
anyone)."""

from __future__ import annotations

import hashlib
import posixpath
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from generator.content.page import output_path_to_url
from generator.deploy.plan import DeployPlan
from generator.manifest import Manifest

TIMEOUT = 15


def http_check(base_url: str, plan: DeployPlan, manifest: Manifest) -> list[str]:
    """Problems found (empty if the pages are served as deployed)."""
    pages = ["index.html"]
    changed = [
        op.path
        for op in plan.operations
        if op.action != "delete"
        and op.path.endswith(".html")
        and op.path in manifest.files
        and manifest.files[op.path].kind == "page"
    ]
    pages += [path for path in changed if path != "index.html"][:1]
    problems = []
    for path in pages:
        if path not in manifest.files:
            continue
        url = urljoin(
            base_url if base_url.endswith("/") else base_url + "/",
            output_path_to_url(path).lstrip("/"),
        )
        request = urllib.request.Request(
            url, headers={"User-Agent": "sitegen-check", "Cache-Control": "no-cache"}
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
                body = response.read()
        except (urllib.error.URLError, OSError) as error:
            problems.append(f"HTTP check of {url}: {error}")
            continue
        if hashlib.sha256(body).hexdigest() != manifest.files[path].sha256:
            problems.append(
                f"HTTP check of {url}: the server answers with other bytes than the deployed {path}"
            )
    return problems


class _Stay(urllib.request.HTTPRedirectHandler):
    """A redirect is the answer (to the login page), not a page to fetch."""

    def redirect_request(self, *arguments: Any, **keywords: Any) -> None:
        return None


_NOT_FOLLOWING = urllib.request.build_opener(_Stay)


def login_check(base_url: str, site_dir: Path | None, manifest: Manifest) -> list[str]:
    """Problems found fetching the first protected page without a login (it must answer
    401, or 403 where no one may read it)."""
    if site_dir is None:
        return []
    for path in sorted(manifest.files):
        if not path.endswith("/.htaccess"):
            continue
        rules = (site_dir / path).read_bytes()
        # A protected page's rules (not the login page's, which must stay open).
        if b"\nAuthType " not in rules or b"\nRequire valid-user" in rules:
            continue
        page = posixpath.join(posixpath.dirname(path), "index.html")
        if page not in manifest.files:
            continue
        url = urljoin(
            base_url if base_url.endswith("/") else base_url + "/",
            output_path_to_url(page).lstrip("/"),
        )
        request = urllib.request.Request(url, headers={"User-Agent": "sitegen-check"})
        try:
            with _NOT_FOLLOWING.open(request, timeout=TIMEOUT) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except (urllib.error.URLError, OSError) as error:
            return [f"login check of {url}: {error}"]
        # 401 (Basic), 403 (no reader), or a redirect to the login page (a form login).
        if status in (401, 403, 302, 303, 307):
            return []
        if status == 500:
            return [
                f"login check of {url}: the server answers 500: the host does not allow "
                "the login rules in .htaccess (ask for AllowOverride AuthConfig)"
            ]
        return [
            f"login check of {url}: served without a login (HTTP {status}): the host "
            "ignores the folder's .htaccess (AllowOverride None?), so protected pages are "
            "public there: roll back, and ask the host for AllowOverride AuthConfig"
        ]
    return []
