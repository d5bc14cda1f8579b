"""Looking at a target without changing it: `sitegen diff`, `journal` and `status`, and the
drift check a rollback also uses."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generator.config.settings import Target
from generator.deploy.connection import connect
from generator.deploy.execute import TEMPORARY
from generator.deploy.plan import DeployPlan, plan_deploy
from generator.deploy.publish import local_manifest
from generator.deploy.remote import Pool, Remote, RemoteError
from generator.deploy.state import read_journal, read_manifest
from generator.manifest import FileEntry, Manifest


def describe_changes(site: str, target: Target, build_dir: Path) -> str:
    """`sitegen diff`: what a deploy would change now, by kind of file."""
    local = local_manifest(build_dir, site)
    with connect(target) as host:
        remote = read_manifest(Remote(host, target))
    plan = plan_deploy(site, target.name, local, remote)
    return summarize_changes(plan, local, remote.files if remote else {})


def remote_journal(target: Target) -> tuple[list[dict[str, Any]], int]:
    """Every entry of the target's journal, oldest first, and the number of damaged lines
    (cut short by a killed run) that were skipped."""
    with connect(target) as host:
        return read_journal(Remote(host, target))


def summarize_changes(
    plan: DeployPlan, local: Manifest, remote_files: Mapping[str, FileEntry]
) -> str:
    """`sitegen diff`: the plan in human terms, by kind of file."""
    counts: dict[tuple[str, str], int] = {}
    for op in plan.operations:
        if op.action == "delete":
            gone = remote_files.get(op.path)
            change, kind = "removed", gone.kind if gone is not None else "file"
        else:
            change = "changed" if op.path in remote_files else "added"
            kind = local.files[op.path].kind
        counts[(kind, change)] = counts.get((kind, change), 0) + 1
    if not counts:
        return f"{plan.site} on {plan.target} is up to date ({plan.to_version[:12]})\n"
    lines = [
        f"{plan.site} on {plan.target}: {plan.from_version[:12] or '(nothing)'} -> "
        f"{plan.to_version[:12]}"
    ]
    for kind in ("page", "variant", "asset", "data", "routing"):
        parts = [
            f"{counts[(kind, change)]} {change}"
            for change in ("added", "changed", "removed")
            if (kind, change) in counts
        ]
        if parts:
            lines.append(f"  {kind}s: {', '.join(parts)}")
    lines.append(f"  {plan.bytes} bytes to upload")
    return "\n".join(lines) + "\n"


def remote_status(site: str, target: Target, full: bool = False) -> str:
    """`sitegen status`: the deployed version, and drift: files changed, missing or added on
    the server since (by size, or by sha256 with `full`)."""
    with connect(target) as host:
        remote = Remote(host, target)
        manifest = read_manifest(remote)
        if manifest is None:
            return f"{site} on {target.name}: nothing deployed yet\n"
        drift = drift_of(remote, manifest, full)
    lines = [
        f"{site} on {target.name}: version {manifest.version[:12]}, {len(manifest.files)} files"
    ]
    lines += [f"  {problem}" for problem in drift] or [
        "  no drift" + (" (sizes; --full compares contents)" if not full else "")
    ]
    return "\n".join(lines) + "\n"


def drift_of(remote: Remote, manifest: Manifest, full: bool) -> list[str]:
    """Files of the manifest that are missing or differ on the server (by size, listing each
    folder once; by sha256 too with `full`)."""
    sizes = remote_sizes(remote)
    drift = [
        f"temporary {path} (left by an interrupted deploy; the next deploy removes it)"
        for path in sorted(sizes)
        if TEMPORARY.search(path)
    ]
    # Downloads go through a pool: a transfer dropped on the way (a TLS data channel that
    # fails, a timeout) is tried again on a connection that answers, as deploys do.
    pool = Pool(remote.target, remote)
    try:
        for path, entry in sorted(manifest.files.items()):
            size = sizes.get(path)
            if size is None:
                # Many servers (pure-ftpd among them) leave dot files such as .htaccess out
                # of listings: ask for the file itself.
                size = pool.usable().size(remote.path(path))
            if size is None:
                drift.append(f"missing  {path}")
            elif size != entry.size:
                drift.append(f"changed  {path} (size)")
            elif full and hashlib.sha256(_download(pool, path)).hexdigest() != entry.sha256:
                drift.append(f"changed  {path} (content)")
    finally:
        pool.close()
    return drift


DOWNLOAD_ATTEMPTS = 3


def _download(pool: Pool, path: str) -> bytes:
    for attempt in range(DOWNLOAD_ATTEMPTS):
        try:
            remote = pool.usable()
            return remote.get(remote.path(path))
        except RemoteError as error:
            if not error.transient or attempt == DOWNLOAD_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def remote_sizes(remote: Remote) -> dict[str, int]:
    """Every file under the web root (outside dot folders) with its size, one LIST per
    folder."""
    sizes: dict[str, int] = {}
    host = remote.host
    with remote.doing("list", remote.root):
        for folder, folders, files in host.walk(remote.root):
            folders[:] = [name for name in folders if not name.startswith(".")]
            relative = folder[len(remote.root) :].strip("/")
            for name in files:
                path = f"{relative}/{name}" if relative else name
                sizes[path] = int(host.lstat(host.path.join(folder, name)).st_size)
    return sizes
