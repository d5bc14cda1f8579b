"""After a deploy: the URLs a CDN or cache in front of the host should forget.

Every file the deploy replaced or deleted (new files were in no cache), as the URLs visitors
use: pages by their folder URL, assets by the CDN's base when `cdn.asset_base` is set.
Written to a file (`sitegen deploy --purge-list FILE`) and/or POSTed as JSON to
`cdn.purge_webhook`; a webhook that fails is reported, never fatal.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from generator.config.model import SiteConfig
from generator.deploy.plan import DeployPlan

TIMEOUT = 10


def purge_urls(site: SiteConfig, plan: DeployPlan) -> list[str]:
    cdn = ((site.values.get("cdn") or {}).get("asset_base") or "").rstrip("/")
    urls = []
    for op in plan.operations:
        if op.action != "delete" and not op.old_sha256:
            continue
        if op.kind == "asset" and cdn:
            urls.append(f"{cdn}/{op.path}")
            continue
        path = op.path
        if path == "index.html" or path.endswith("/index.html"):
            path = path[: -len("index.html")]
        urls.append(site.base_url + path)
    return sorted(set(urls))


def call_purge_webhook(url: str, site: str, plan: DeployPlan, urls: list[str]) -> str | None:
    """POST the URLs; what went wrong, or None."""
    body: dict[str, Any] = {"site": site, "target": plan.target, "version": plan.to_version,
                            "urls": urls}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "sitegen"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            response.read()
    except Exception as error:  # noqa: BLE001 - reported, never fatal
        return f"purge webhook {url}: {error}"
    return None
