"""What a deployed manifest records besides its files, for `sitegen rollback` to check:
the winners of concluded experiments, the site's recorded migrations, and the links of the
site's pages (and recommendation lists) into the other sites of the network."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from generator.config.model import Network, SiteConfig
from generator.content.page import url_to_output_path
from generator.manifest import Manifest

SCANNED_KINDS = ("page", "variant", "data")


def deploy_meta(
    network: Network, site: SiteConfig, build_dir: Path, manifest: Manifest
) -> dict[str, Any]:
    experiments = site.personalization.experiments
    return {
        "winners": {e.id: e.winner for e in experiments if e.status == "concluded" and e.winner},
        "migrations": sorted(site.migrations),
        "links": outgoing_links(network, site, build_dir / site.name, manifest),
    }


def promotions(current: Manifest | None, wanted: Manifest) -> dict[str, str]:
    """Experiments whose winner goes live with `wanted` (new, or another arm than live)."""
    before = (current.meta.get("winners") or {}) if current is not None else {}
    after = wanted.meta.get("winners") or {}
    return {
        experiment: winner
        for experiment, winner in sorted(after.items())
        if winner and before.get(experiment) != winner
    }


def outgoing_links(
    network: Network, site: SiteConfig, site_dir: Path, manifest: Manifest
) -> dict[str, list[str]]:
    """Paths of other sites of the network that this build links to, by site: every
    occurrence of another site's base URL in a page, variant or data file (HTML links and the
    JSON of recommendation lists alike)."""
    others = {
        other.base_url: other.name
        for other in network.buildable_sites()
        if other.name != site.name and other.base_url != site.base_url
    }
    if not others:
        return {}
    pattern = re.compile(
        "("
        + "|".join(re.escape(url) for url in sorted(others, key=len, reverse=True))
        + r")([^\s\"'<>)\\#?]*)"
    )
    links: dict[str, set[str]] = {}
    for path, entry in manifest.files.items():
        if entry.kind not in SCANNED_KINDS:
            continue
        text = (site_dir / path).read_text(encoding="utf-8", errors="replace")
        for match in pattern.finditer(text):
            links.setdefault(others[match.group(1)], set()).add(match.group(2))
    return {name: sorted(paths) for name, paths in sorted(links.items())}


INTERNAL_LINK = re.compile(rb"""href=["'](/(?!/)[^"'#?]*)""")


def page_links(site_dir: Path) -> Callable[[str], set[str]]:
    """For a page of the local build, the paths of the site it links to (root-relative
    links: what the themes write for pages of the same site)."""

    def links_of(path: str) -> set[str]:
        try:
            data = (site_dir / path).read_bytes()
        except OSError:
            return set()
        return {
            url_to_output_path(unquote(match.decode("utf-8", "replace")))
            for match in INTERNAL_LINK.findall(data)
        }

    return links_of
