"""The deploy plan: the local manifest against the remote one, by sha256, never timestamps.

Operations come in an order that keeps the remote site whole at every moment: new assets
first (fingerprinted names never collide with what is live), then other new files, then
changed files, then pages, then entry files (routing rules), then the remote manifest, and
deletions last. Only files an earlier manifest published are ever deleted.

A file's new content comes from the local build (upload), or from the server itself when an
earlier version kept it (restore: a rename out of the state folder's object store; copy: a
download and upload of content the server holds elsewhere). A rollback, which has no build,
uses only the latter two.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace

from generator.errors import DeployError
from generator.manifest import FileEntry, Manifest

STAGES = ("asset", "new", "changed", "page", "entry", "delete", "delete-asset")
"""The order of a deploy; the remote manifest is written between "entry" and "delete".
Assets are deleted last, once no page that referenced them is left."""
ENTRY_KINDS = ("routing",)


ACTIONS = ("upload", "restore", "copy", "delete")


@dataclass(frozen=True, slots=True)
class Operation:
    """One step of a deploy."""

    action: str
    """One of `ACTIONS`."""
    path: str
    """Path under the remote web root."""
    size: int
    """The file's size (0 for deletions)."""
    sha256: str
    """The new content (for deletions: the content deleted)."""
    stage: str
    """Which of `STAGES` it belongs to (its place in the order)."""
    old_sha256: str = ""
    """What the path holds before ('' for a new file); set aside for rollback."""
    source: str = ""
    """copy: a path of the site where the server holds the same content now."""
    kind: str = ""
    """The manifest's kind of file (page, variant, asset, data, routing)."""
    old_size: int = -1
    """The size the manifest gives what the path holds before (-1: unknown)."""
    wave: int = 0
    """Within a stage: a live page whose new version links to a new page goes after the
    new pages (see `link_waves`)."""

    @property
    def atomic(self) -> bool:
        """Replaced in one rename, never missing for a moment: assets that pages reference
        and the routing rules. (Pages and data are set aside by a rename first, a gap of one
        round trip, which keeps their old content on the server at no cost in bytes.)"""
        return self.kind in ("asset", "routing") or self.stage == "entry"

    @property
    def sent(self) -> int:
        """Bytes sent over the network."""
        return self.size if self.action in ("upload", "copy") else 0


@dataclass(frozen=True, slots=True)
class DeployPlan:
    site: str
    target: str
    from_version: str
    """The remote version before ('' for a first deploy)."""
    to_version: str
    operations: tuple[Operation, ...]

    @property
    def bytes(self) -> int:
        """Bytes sent to the server."""
        return sum(op.sent for op in self.operations)

    @property
    def digest(self) -> str:
        """Identifies the plan: the real run executes the plan the dry run printed."""
        payload = json.dumps(
            [
                self.site,
                self.target,
                self.from_version,
                self.to_version,
                [[o.action, o.path, o.sha256, o.source] for o in self.operations],
            ]
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _stage(path: str, kind: str, existed: bool) -> str:
    if kind in ENTRY_KINDS or path in ("index.html", "404.html"):
        return "entry"
    if kind in ("page", "variant"):
        return "page"
    if not existed:
        return "asset" if kind == "asset" else "new"
    return "changed"


def plan_deploy(
    site: str,
    target: str,
    local: Manifest,
    remote: Manifest | None,
    stored: Collection[str] = (),
    uploadable: bool = True,
    links_of: Callable[[str], Collection[str]] | None = None,
) -> DeployPlan:
    """Operations that turn the remote version into `local`.

    `stored`: contents the server keeps in its object store; `uploadable`: whether the local
    build holds `local`'s files (a rollback has no build and uses only what the server has);
    `links_of`: the paths of the site a page links to, to publish new pages before the
    pages that link to them.
    """
    remote_files: dict[str, FileEntry] = dict(remote.files) if remote else {}
    # Files a killed deploy was still deleting are ours too (see run.py).
    pending = {
        path: FileEntry(entry["sha256"], -1, entry.get("kind", "file"))
        for path, entry in (remote.pending_deletions if remote else {}).items()
        if path not in remote_files
    }
    remote_files = {**remote_files, **pending}
    live = {
        entry.sha256: path for path, entry in sorted(remote_files.items()) if path not in pending
    }
    # A path whose deletion is pending may or may not hold its file any more: whatever
    # it holds is set aside and the file placed again.
    changes = [
        (path, entry)
        for path, entry in sorted(local.files.items())
        if path in pending or path not in remote_files or remote_files[path].sha256 != entry.sha256
    ]
    wanted = Counter(entry.sha256 for _, entry in changes)
    operations = []
    missing = []
    for path, entry in changes:
        old = remote_files.get(path)
        sha = entry.sha256
        stage = _stage(path, entry.kind, old is not None)
        if sha in stored and wanted[sha] == 1:
            action, source = "restore", ""  # a rename on the server: nothing sent
        elif uploadable:
            action, source = "upload", ""
        elif sha in stored or sha in live:
            action, source = "copy", live.get(sha, "")
        else:
            missing.append(path)
            continue
        operations.append(
            Operation(
                action,
                path,
                entry.size,
                sha,
                stage,
                old.sha256 if old is not None else "",
                source,
                entry.kind,
                old.size if old is not None else -1,
            )
        )
    if missing:
        raise DeployError(
            f"the server no longer holds {len(missing)} file(s) of version "
            f"{local.version[:12]}, such as {missing[0]}; it cannot be "
            "restored from the server alone"
        )
    # Deleting only what an earlier manifest published: nothing else on the server is ours.
    for path in sorted(set(remote_files) - set(local.files)):
        gone = remote_files[path]
        operations.append(
            Operation(
                "delete",
                path,
                0,
                gone.sha256,
                "delete-asset" if gone.kind == "asset" else "delete",
                gone.sha256,
                kind=gone.kind,
                old_size=gone.size,
            )
        )
    if links_of is not None:
        waves = link_waves(
            [op.path for op in operations if op.old_sha256 and op.kind in ("page", "variant")],
            {op.path for op in operations if not op.old_sha256 and op.kind in ("page", "variant")},
            links_of,
        )
        operations = [replace(op, wave=waves.get(op.path, 0)) for op in operations]
    order = {stage: number for number, stage in enumerate(STAGES)}
    operations.sort(key=lambda op: (order[op.stage], op.wave, op.path))
    return DeployPlan(
        site, target, remote.version if remote else "", local.version, tuple(operations)
    )


def link_waves(
    replaced: list[str], new: set[str], links_of: Callable[[str], Collection[str]]
) -> dict[str, int]:
    """Wave 1 for live pages being replaced by versions that link to a page new in this
    plan, so that they go after every new page; the rest go in wave 0. New pages need no
    order among themselves: a visitor reaches one only through a live page that links to
    it, and those wait."""
    if not new:
        return {}
    return {page: 1 for page in replaced if new & set(links_of(page))}


def describe(plan: DeployPlan) -> str:
    """The plan as the dry run prints it: every operation with its bytes, then totals."""
    lines = [
        f"deploy {plan.site} to {plan.target}: "
        f"{plan.from_version[:12] or '(nothing)'} -> {plan.to_version[:12]} "
        f"(plan {plan.digest})"
    ]
    lines += [
        f"  {op.action:<7} {op.stage:<7} {op.sent:>10}  {op.path}"
        + (f" (from {op.source})" if op.source else "")
        for op in plan.operations
    ]
    counts = Counter(op.action for op in plan.operations)
    lines.append(
        f"{counts['upload']} uploads ({plan.bytes} bytes), "
        + (f"{counts['restore']} restored by rename, " if counts["restore"] else "")
        + (f"{counts['copy']} copied on the server, " if counts["copy"] else "")
        + f"{counts['delete']} deletions"
        + (", nothing to do" if not plan.operations else "")
    )
    return "\n".join(lines) + "\n"
