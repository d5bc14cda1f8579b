"""`sitegen build`: load, collect, assets, plan, check freshness, render, commit.

Reads top to bottom like the pipeline in DESIGN.md. Nothing under build/<site>/ is touched
until every site has rendered without error.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator import __version__
from generator.assets import build_site_assets
from generator.config import load_network
from generator.config.model import Network, SiteConfig
from generator.content import SourceReader, collect_site_content
from generator.errors import ConfigError, suggest
from generator.pipeline.freshness import Fingerprints
from generator.pipeline.output import (
    ManifestEntry,
    commit_site,
    finish_interrupted_commits,
    new_staging_dir,
    private_dir,
    published_files,
    write_manifest,
)
from generator.pipeline.plan import SitePlan, plan_site
from generator.pipeline.signature import (
    INPUT_FOLDERS,
    forget_signature,
    load_signature,
    save_signature,
    tree_signature,
)
from generator.pipeline.site_state import SiteState
from generator.pipeline.state import BuildState, OutputRecord
from generator.pipeline.workers import RenderResult, SiteJob, render_all
from generator.progress import Progress


@dataclass(frozen=True, slots=True)
class BuildOptions:
    root: Path
    build_dir: Path
    environment: str = "production"
    sites: tuple[str, ...] = ()
    """Only these sites (default: every site that is not abstract)."""
    drafts: bool = False
    clean: bool = False
    jobs: int = 0
    """Worker processes; 0 means one per core."""
    quiet: bool = False


@dataclass
class SiteReport:
    name: str
    version: str = ""
    pages: int = 0
    assets: int = 0
    rendered: int = 0
    unchanged: int = 0
    committed: bool = False


@dataclass
class BuildReport:
    sites: list[SiteReport] = field(default_factory=list)
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        pages = sum(s.pages for s in self.sites)
        assets = sum(s.assets for s in self.sites)
        rendered = sum(s.rendered for s in self.sites)
        unchanged = sum(s.unchanged for s in self.sites)
        return (f"built {len(self.sites)} site(s): {pages} pages, {assets} assets; "
                f"{rendered} rendered, {unchanged} unchanged, in {self.seconds:.2f}s")


def build(options: BuildOptions) -> BuildReport:
    started = time.perf_counter()
    private = private_dir(options.build_dir)
    # Recover: finish the commit of a build that was killed halfway through it.
    if finish_interrupted_commits(options.build_dir):
        forget_signature(private)
    # Shortcut: not one input or published file changed since the last successful build.
    inputs = tree_signature(options.root.resolve(), INPUT_FOLDERS)
    unchanged = _unchanged_report(options, private, inputs)
    if unchanged is not None:
        unchanged.seconds = time.perf_counter() - started
        return unchanged
    # Load: every site's config, resolved and validated, themes and pools.
    network = load_network(options.root, options.environment)
    sites = _select_sites(network, options.sites)
    store = BuildState(private_dir(options.build_dir) / "state.sqlite")
    try:
        # Collect and assets: each site's pages through its gates, its CSS, JS and images.
        reader = SourceReader(network.root, store)
        states = {site.name: SiteState(network, site,
                                       collect_site_content(site, network, reader,
                                                            options.drafts),
                                       build_site_assets(site, network))
                  for site in sites}
        # Plan: every output file of every site, with the inputs of each.
        plans = {name: plan_site(state.site, state.content, state.assets)
                 for name, state in states.items()}
        report = _render_and_commit(options, network, states, plans, store)
        # Remember parsed front matter only once the build succeeded: a failed build writes
        # nothing at all.
        reader.save()
    finally:
        store.close()
    _save_signature(options, private, inputs, report, network.warnings)
    report.seconds = time.perf_counter() - started
    report.warnings = network.warnings
    return report


def _options_key(options: BuildOptions) -> list[Any]:
    return [__version__, options.environment, sorted(options.sites), options.drafts,
            str(options.root.resolve())]


def _outputs_signature(options: BuildOptions, sites: list[str]) -> str:
    return tree_signature(options.build_dir, tuple(sorted(sites)))


def _unchanged_report(options: BuildOptions, private: Path, inputs: str) -> BuildReport | None:
    if options.clean:
        return None
    last = load_signature(private)
    if last is None or last.get("options") != _options_key(options) \
            or last.get("inputs") != inputs:
        return None
    sites = [entry["name"] for entry in last["sites"]]
    if last.get("outputs") != _outputs_signature(options, sites):
        return None
    report = BuildReport(warnings=tuple(last.get("warnings", ())))
    for entry in last["sites"]:
        total = entry["outputs"]
        report.sites.append(SiteReport(entry["name"], entry["version"], entry["pages"],
                                       entry["assets"], 0, total, False))
    return report


def _save_signature(options: BuildOptions, private: Path, inputs: str, report: BuildReport,
                    warnings: tuple[str, ...]) -> None:
    sites = [site.name for site in report.sites]
    save_signature(private, {
        "options": _options_key(options),
        "inputs": inputs,
        "outputs": _outputs_signature(options, sites),
        "warnings": list(warnings),
        "sites": [{"name": s.name, "version": s.version, "pages": s.pages, "assets": s.assets,
                   "outputs": s.rendered + s.unchanged} for s in report.sites],
    })


def _select_sites(network: Network, names: tuple[str, ...]) -> list[SiteConfig]:
    buildable = network.buildable_sites()
    if not names:
        return buildable
    known = {site.name: site for site in buildable}
    for name in names:
        if name not in known:
            raise ConfigError(f"no buildable site '{name}'" + suggest(name, list(known)))
    return [known[name] for name in sorted(set(names))]


def _is_fresh(record: OutputRecord | None, data_key: str, fingerprints: Fingerprints,
              site_dir: Path, path: str) -> bool:
    """Is the published file exactly what rendering it now would give?"""
    if record is None or record.data_key != data_key:
        return False
    if any(fingerprints.fingerprint(kind, key) != value
           for kind, key, value in record.dependencies):
        return False
    return _is_intact(record, site_dir)


MOVE_ORDER = {"asset": 0, "data": 1, "page": 2}
"""Assets go in first, so a page never appears before the stylesheet it links to."""


def _render_and_commit(options: BuildOptions, network: Network, states: dict[str, SiteState],
                       plans: dict[str, SitePlan], store: BuildState) -> BuildReport:
    report = BuildReport()
    jobs: dict[str, SiteJob] = {}
    tasks: list[tuple[str, int]] = []
    previous_records: dict[str, dict[str, OutputRecord]] = {}
    deletions: dict[str, list[str]] = {}
    for name, plan in plans.items():
        # Freshness: which outputs the previous build already has, exactly as they'd be now.
        site_report = SiteReport(name)
        report.sites.append(site_report)
        previous = {} if options.clean else store.outputs(name)
        fingerprints = Fingerprints(states[name])
        site_dir = options.build_dir / name
        stale = [index for index, output in enumerate(plan.outputs)
                 if not _is_fresh(previous.get(output.path), output.data_key, fingerprints,
                                  site_dir, output.path)]
        planned = {output.path for output in plan.outputs}
        leftovers = sorted(published_files(site_dir) - planned)
        site_report.pages = sum(1 for output in plan.outputs if output.kind == "page")
        site_report.assets = sum(1 for output in plan.outputs if output.kind == "asset")
        site_report.rendered = len(stale)
        site_report.unchanged = len(plan.outputs) - len(stale)
        if not stale and not leftovers and set(previous) == planned:
            continue  # nothing changed: leave the site's tree and state alone
        previous_records[name] = previous
        deletions[name] = leftovers
        jobs[name] = SiteJob(states[name], plan, new_staging_dir(options.build_dir, name),
                             fingerprints)
        tasks += [(name, index) for index in stale]

    processes = options.jobs or os.cpu_count() or 1
    progress = Progress("rendering", len(tasks), quiet=options.quiet)
    results: dict[str, list[RenderResult]] = {name: [] for name in jobs}
    try:
        # Render: the stale outputs, into each site's staging tree.
        for result in render_all(jobs, tasks, processes, progress.advance):
            results[result.site].append(result)
    except BaseException:
        for job in jobs.values():
            shutil.rmtree(job.staging, ignore_errors=True)
        raise
    finally:
        progress.close()

    # Commit: move each site's new files in, then record its manifest and state.
    for name, job in sorted(jobs.items()):
        previous = previous_records[name]
        records = {output.path: previous[output.path] for output in job.plan.outputs
                   if output.path in previous}
        moves = []
        for result in results[name]:
            output = job.plan.outputs[result.index]
            written = result.written
            mtime = written.mtime_ns
            old = previous.get(output.path)
            if (old is not None and old.sha256 == written.sha256
                    and _is_intact(old, options.build_dir / name)):
                mtime = old.mtime_ns  # same bytes: keep the published file as it is
            else:
                moves.append(output)
            records[output.path] = OutputRecord(output.path, output.kind, output.data_key,
                                                written.sha256, written.size, mtime,
                                                result.dependencies)
        moves.sort(key=lambda output: (MOVE_ORDER.get(output.kind, 3), output.path))
        commit_site(options.build_dir, name, job.staging, [output.path for output in moves],
                    deletions[name])
        records = {path: _restat(record, options.build_dir / name)
                   for path, record in records.items()}
        version = write_manifest(options.build_dir, name, {
            path: ManifestEntry(r.sha256, r.size, r.kind) for path, r in records.items()})
        store.replace_site(name, records.values())
        site_report = next(s for s in report.sites if s.name == name)
        site_report.version = version
        site_report.committed = True
    for site_report in report.sites:
        if not site_report.committed:
            manifest = private_dir(options.build_dir) / "sites" / site_report.name
            site_report.version = _current_version(manifest / "manifest.json")
    return report


def _is_intact(record: OutputRecord, site_dir: Path) -> bool:
    try:
        stat = os.stat(os.path.join(site_dir, record.path))
    except OSError:
        return False
    return stat.st_size == record.size and stat.st_mtime_ns == record.mtime_ns


def _restat(record: OutputRecord, site_dir: Path) -> OutputRecord:
    """Record the modification time the published file really has (a rename keeps it, but a
    file system with coarse timestamps may round it)."""
    mtime = os.stat(os.path.join(site_dir, record.path)).st_mtime_ns
    if mtime == record.mtime_ns:
        return record
    return OutputRecord(record.path, record.kind, record.data_key, record.sha256, record.size,
                        mtime, record.dependencies)


def _current_version(path: Path) -> str:
    import json

    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return ""
