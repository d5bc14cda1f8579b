"""`sitegen rollback`: put a kept version back, from the server alone.

Needs no local build: the server keeps the manifests of the last versions and, in its object
store, the contents they need that are no longer live, so a rollback is mostly renames.

Before acting, it checks what the version would break and refuses without `--force`:
pages or assets that other sites of the network link to now (their deployed manifests record
their links into this site), migrations recorded since that version, and winners of
experiments promoted since.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from generator.config.model import Network
from generator.config.settings import Target
from generator.deploy.bookkeeping import (
    Cancelled,
    HistoryEntry,
    Origin,
    kept_versions,
    read_history,
    recorded_failures,
    stored_objects,
)
from generator.deploy.connection import connect, target_of
from generator.deploy.execute import Executor
from generator.deploy.inspect import drift_of
from generator.deploy.plan import DeployPlan, plan_deploy
from generator.deploy.remote import Remote
from generator.deploy.run import DeployReport, Job, RunOptions, execute
from generator.deploy.state import read_manifest, read_version
from generator.errors import DeployError, SitegenError
from generator.manifest import FileEntry, Manifest


@dataclass(frozen=True)
class RollbackOptions(RunOptions):
    to: str | None = None
    """The version to go back to (a prefix of its id); by default the one before."""
    force: bool = False
    """Roll back even when it would break links, migrations or promoted winners."""


def rollback(
    network: Network,
    site: str,
    target: Target,
    origin: Origin,
    options: RollbackOptions = RollbackOptions(),
    *,
    confirm: Callable[[DeployPlan], bool] = lambda plan: True,
    show: Callable[[DeployPlan, list[str]], None] = lambda plan, problems: None,
) -> DeployReport:
    with recorded_failures(origin, site, target, "rollback", options.to or "", options.dry_run):
        return _rollback(network, site, target, origin, options, confirm, show)


def _rollback(
    network: Network,
    site: str,
    target: Target,
    origin: Origin,
    options: RollbackOptions,
    confirm: Callable[[DeployPlan], bool],
    show: Callable[[DeployPlan, list[str]], None],
) -> DeployReport:
    control = Remote(connect(target), target)
    try:
        current = read_manifest(control)
        if current is None:
            raise DeployError(f"nothing is deployed on '{target.name}': nothing to roll back")
        history = read_history(control)
        kept = [
            version for version in kept_versions(history, target.keep) if version != current.version
        ]
        version = _choose(options.to, kept, history, target)
        wanted = read_version(control, version)
        if wanted is None:
            raise DeployError(f"version {version[:12]} is no longer kept on the server")
        stored = stored_objects(control)
        plan = plan_deploy(site, target.name, wanted, current, stored, uploadable=False)
        problems = dependency_problems(network, site, target, current, wanted)
        show(plan, problems)
        report = DeployReport(plan, kind="rollback")
        if options.dry_run:
            return report
        if problems and not options.force:
            raise DeployError(
                "rollback refused:\n"
                + "\n".join(f"  - {p}" for p in problems)
                + "\npass --force to roll back anyway"
            )
        if not confirm(plan):
            raise Cancelled("rollback cancelled; nothing was changed")
        manifest = wanted.kept().with_meta(rolled_back=time.time())
        if plan.operations:
            executor = Executor(None, target.keep > 0, stored, target.atomic_replace)
            report = execute(
                control, Job(target, plan, manifest, current, "rollback"), executor, origin, options
            )
        if not control.alive():
            control.close()
            control = Remote(connect(target), target)
        drift = drift_of(control, wanted, full=options.verify_full)
        if drift:
            raise DeployError(
                f"after the rollback the server differs from version "
                f"{version[:12]}: " + "; ".join(drift[:5])
            )
        return report
    finally:
        control.close()


def _choose(to: str | None, kept: list[str], history: list[HistoryEntry], target: Target) -> str:
    """The version to go back to: `--to` (a prefix of its id), or the one before the
    current."""
    if not kept:
        raise DeployError(f"no earlier version is kept on '{target.name}' (keep: {target.keep})")
    if to is None:
        return kept[0]
    matches = [version for version in kept if version.startswith(to)]
    if len(matches) == 1:
        return matches[0]
    when = {entry.version: entry.time for entry in history}
    listing = ", ".join(
        f"{version[:12]} ({time.strftime('%Y-%m-%d %H:%M', time.gmtime(when[version]))})"
        for version in kept
    )
    if matches:
        raise DeployError(
            f"--to {to} matches several kept versions; give more of the id: {listing}"
        )
    raise DeployError(f"version {to} is not kept on '{target.name}'; kept: {listing}")


def dependency_problems(
    network: Network, site: str, target: Target, current: Manifest, wanted: Manifest
) -> list[str]:
    """Why going back to `wanted` would break something (empty when it would not)."""
    problems = []
    version = wanted.version[:12]
    for migration in current.meta.get("migrations", []):
        if migration not in wanted.meta.get("migrations", []):
            problems.append(f"version {version} predates the migration '{migration}'")
    for experiment, winner in sorted((current.meta.get("winners") or {}).items()):
        if winner and (wanted.meta.get("winners") or {}).get(experiment) != winner:
            problems.append(
                f"it would undo the promotion of arm '{winner}' as the winner of "
                f"experiment '{experiment}'"
            )
    files = wanted.files
    for other in network.buildable_sites():
        if other.name == site or target.name not in other.targets:
            continue
        try:
            other_target = target_of(other, target.name)
            with connect(other_target) as host:
                manifest = read_manifest(Remote(host, other_target))
        except SitegenError as error:
            problems.append(f"cannot check the links of site '{other.name}': {error.message}")
            continue
        links = manifest.meta.get("links", {}) if manifest is not None else {}
        for path in sorted(links.get(site, [])):
            if not _resolves(path, files):
                problems.append(
                    f"site '{other.name}' links to /{path} which version {version} lacks"
                )
    return problems


def _resolves(path: str, files: Mapping[str, FileEntry]) -> bool:
    path = path.strip("/")
    return path in files or f"{path}/index.html" in files or (path == "" and "index.html" in files)
