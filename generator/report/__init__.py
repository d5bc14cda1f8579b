"""`sitegen report`: the network's traffic across sites, as a static HTML report (data.py
reads, compare.py tests the differences, write.py renders and exports)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from generator.config.model import Network, SiteConfig
from generator.content import SourceReader, collect_site_content
from generator.layout import BuildLayout
from generator.report.data import read
from generator.report.write import Written, check_out, write

K = 5
"""Cells resting on fewer visitors than this are suppressed."""


def shared_pages(
    root: Path, network: Network, sites: list[SiteConfig]
) -> dict[str, dict[str, str]]:
    """Each pool page published on several of `sites`: its key -> site -> URL."""
    urls: dict[str, dict[str, str]] = defaultdict(dict)
    reader = SourceReader(root)
    for site in sites:
        for page in collect_site_content(site, network, reader).pages:
            if page.pool:
                urls[page.key][site.name] = page.url
    return {key: found for key, found in urls.items() if len(found) > 1}


def defined_segments(sites: list[SiteConfig]) -> dict[str, list[str]]:
    """Each segment id defined by any of `sites` -> the sites defining it."""
    found: dict[str, list[str]] = defaultdict(list)
    for site in sites:
        for segment in site.personalization.segments:
            found[segment.id].append(site.name)
    return dict(found)


def audience_note(sites: list[SiteConfig]) -> str:
    """What the report can say about visitors across sites, from the sites' cookie domains."""
    by_domain: dict[str, list[str]] = defaultdict(list)
    for site in sites:
        by_domain[site.personalization.cookie_domain].append(site.name)
    parts = [
        f"{', '.join(names)} share one visitor id under {domain} "
        "(personalization.cookie_domain): a visitor of several of them counts once, and "
        "the paths between them are below."
        for domain, names in sorted(by_domain.items())
        if domain and len(names) > 1
    ]
    alone = sorted(
        name
        for domain, names in by_domain.items()
        for name in names
        if not domain or len(names) == 1
    )
    if alone:
        parts.append(
            f"{', '.join(alone)} keep{'s' if len(alone) == 1 else ''} visitor ids on "
            f"{'its' if len(alone) == 1 else 'their'} own host: separate domains cannot share "
            "visitors, so someone who visits two of them counts as two visitors (set "
            "personalization.cookie_domain to a parent domain the sites share to follow them)."
        )
    return " ".join(parts) + " Segment sizes are per site; overlaps count visitor ids in both."


def network_report(
    root: Path,
    network: Network,
    sites: list[SiteConfig],
    out: Path,
    start: dt.date | None = None,
    end: dt.date | None = None,
    k: int = K,
) -> Written:
    from generator.experiments.present import site_statuses
    from generator.experiments.report import write_report

    check_out(out)
    layout = BuildLayout(root / "build").checked()
    data = read(
        layout.events,
        [site.name for site in sites],
        start,
        end,
        k,
        shared_pages(root, network, sites),
        defined_segments(sites),
        whole=start is None and end is None and 2 * len(sites) >= len(network.buildable_sites()),
    )

    def experiments(folder: Path) -> dict[str, list[tuple[str, str]]]:
        pages: dict[str, list[tuple[str, str]]] = {}
        for site in sites:
            statuses = site_statuses(site, layout)
            if statuses:
                write_report(site.name, statuses, folder / site.name)
                pages[site.name] = [
                    (found.experiment.id, f"{found.experiment.id}.html") for found in statuses
                ]
        return pages

    return write(data, out, audience_note(sites), experiments)
