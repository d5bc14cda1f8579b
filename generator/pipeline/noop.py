"""The start of every build, kept light: recover a commit a killed build left, then the
no-change shortcut. A build with nothing to do imports only this, the shortcut's file
scanning and the commit journal; the rest of the pipeline is imported when there is work.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from generator import __version__
from generator.layout import BuildLayout
from generator.pipeline.options import BuildOptions, BuildReport, SiteReport
from generator.pipeline.output import finish_interrupted_commits
from generator.pipeline.shortcut import (
    PublishedTree,
    forget_last_build,
    inputs_signature,
    load_last_build,
    save_last_build,
    scan_published,
)
from generator.users import USERS_FILE


@dataclass(frozen=True)
class Shortcut:
    """What the start of a build found."""

    inputs: str
    """The signature of every input file."""
    scans: Mapping[str, PublishedTree]
    """The published trees the last build wrote, scanned once (freshness reuses them)."""
    report: BuildReport | None
    """The report of a build with nothing to do (None: there is work)."""
    seconds: float


def check_shortcut(options: BuildOptions) -> Shortcut:
    """Recover an interrupted commit, then tell whether anything changed since the last
    successful build with the same options."""
    started = time.perf_counter()
    layout = BuildLayout(options.build_dir)
    layout.claim()  # a folder a newer sitegen wrote is refused before anything touches it
    # Recover: finish the commit of a build that was killed halfway through it.
    if finish_interrupted_commits(options.build_dir):
        forget_last_build(layout.last_build)
    # Shortcut: not one input or published file changed since the last successful build.
    root = options.root.resolve()
    inputs = inputs_signature(
        root,
        (
            layout.events_of(options.environment),
            layout.events_of(options.environment).with_name(
                layout.events_of(options.environment).name + "-wal"
            ),
            root / USERS_FILE,  # (a site's own users file is under sites/, already read)
        ),
    )
    last = None if options.clean else load_last_build(layout.last_build)
    scans = _scan_sites(options, last)
    report = None
    if last is not None and _unchanged(options, last, inputs, scans):
        report = _unchanged_report(last, time.perf_counter() - started)
    return Shortcut(inputs, scans, report, time.perf_counter() - started)


def save_shortcut(
    options: BuildOptions,
    inputs: str,
    report: BuildReport,
    published: Mapping[str, PublishedTree],
) -> None:
    """Remember a successful build, for the next one's shortcut."""
    save_last_build(
        BuildLayout(options.build_dir).last_build,
        {
            "options": _options_key(options),
            "inputs": inputs,
            "published": {name: tree.to_json() for name, tree in published.items()},
            "warnings": list(report.warnings),
            "sites": [
                {
                    "name": s.name,
                    "version": s.version,
                    "pages": s.pages,
                    "assets": s.assets,
                    "variants": s.variants,
                    "outputs": s.rendered + s.unchanged,
                }
                for s in report.sites
            ],
        },
    )


def _options_key(options: BuildOptions) -> list[Any]:
    return [
        __version__,
        options.environment,
        sorted(options.sites),
        options.drafts,
        options.preview,
        options.strict,
        str(options.root.resolve()),
    ]


def _scan_sites(options: BuildOptions, last: dict[str, Any] | None) -> dict[str, PublishedTree]:
    if last is None:
        return {}
    return {
        name: scan_published(options.build_dir / name, PublishedTree.from_json(tree))
        for name, tree in last["published"].items()
    }


def _unchanged(
    options: BuildOptions, last: dict[str, Any], inputs: str, scans: dict[str, PublishedTree]
) -> bool:
    return (
        last.get("options") == _options_key(options)
        and last.get("inputs") == inputs
        and all(
            scan.files == PublishedTree.from_json(last["published"][name]).files
            for name, scan in scans.items()
        )
    )


def _unchanged_report(last: dict[str, Any], seconds: float) -> BuildReport:
    report = BuildReport(seconds=seconds, warnings=tuple(last.get("warnings", ())))
    for entry in last["sites"]:
        report.sites.append(
            SiteReport(
                entry["name"],
                entry["version"],
                entry["pages"],
                entry["assets"],
                entry.get("variants", 0),
                0,
                entry["outputs"],
                False,
            )
        )
    return report
