"""After a deploy: the URLs a CDN or cache in front of the host should forget.

Every file the deploy replaced or deleted (new files were in no cache), as the URLs visitors
use: pages by their folder URL, assets by the CDN's base when `cdn.asset_base` is set.
Written to a file (`sitegen deploy --purge-list FILE`) and/or POSTed as JSON to
`cdn.purge_webhook`; a webhook that fails is reported, never fatal.
"""

from __future__ import annotations

from generator.config.model import SiteConfig
from generator.content.page import output_path_to_url
from generator.deploy.notify import post_json
from generator.deploy.plan import DeployPlan


def purge_urls(site: SiteConfig, plan: DeployPlan) -> list[str]:
    cdn = site.cdn.asset_base
    urls = []
    for op in plan.operations:
        if op.action != "delete" and not op.old_sha256:
            continue
        if op.kind == "asset" and cdn:
            urls.append(f"{cdn}/{op.path}")
            continue
        urls.append(site.base_url + output_path_to_url(op.path).lstrip("/"))
    return sorted(set(urls))


def call_purge_webhook(url: str, site: str, plan: DeployPlan, urls: list[str]) -> str | None:
    """POST the URLs; what went wrong, or None."""
    problem = post_json(
        url, {"site": site, "target": plan.target, "version": plan.to_version, "urls": urls}
    )
    return f"purge webhook {problem}" if problem else None
