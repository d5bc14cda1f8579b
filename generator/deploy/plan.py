"""The deploy plan: the local manifest against the remote one, by sha256, never timestamps.

Operations come in an order that keeps the remote site whole at every moment: new assets
first (fingerprinted names never collide with what is live), then other new files, then
changed files, then pages, then entry files (routing rules), then the remote manifest, and
deletions last. Only files an earlier manifest published are ever deleted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

STAGES = ("asset", "new", "changed", "page", "entry", "delete")
"""The order of a deploy; the remote manifest is written between "entry" and "delete"."""
ENTRY_KINDS = ("routing",)


@dataclass(frozen=True, slots=True)
class Operation:
    """One step of a deploy."""

    action: str
    """upload or delete."""
    path: str
    """Path under the remote web root."""
    size: int
    """Bytes to send (0 for deletions)."""
    sha256: str
    stage: str
    """Which of `STAGES` it belongs to (its place in the order)."""


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
        return sum(op.size for op in self.operations)

    @property
    def digest(self) -> str:
        """Identifies the plan: the real run executes the plan the dry run printed."""
        payload = json.dumps([self.site, self.target, self.from_version, self.to_version,
                              [[o.action, o.path, o.sha256] for o in self.operations]])
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _stage(path: str, kind: str, existed: bool) -> str:
    if kind in ENTRY_KINDS or path in ("index.html", "404.html"):
        return "entry"
    if kind in ("page", "variant"):
        return "page"
    if not existed:
        return "asset" if kind == "asset" else "new"
    return "changed"


def plan_deploy(site: str, target: str, local: dict[str, Any],
                remote: dict[str, Any] | None) -> DeployPlan:
    """Operations that turn the remote version into the local one."""
    remote_files: dict[str, Any] = remote["files"] if remote else {}
    # Files a killed deploy was still deleting are ours too (see publish.py).
    pending = {path: {"sha256": entry["sha256"], "size": 0, "kind": "file"}
               for path, entry in (remote or {}).get("pending_deletions", {}).items()
               if path not in remote_files}
    remote_files = {**remote_files, **pending}
    operations = []
    for path, entry in sorted(local["files"].items()):
        old = remote_files.get(path)
        if old is not None and old["sha256"] == entry["sha256"]:
            continue
        operations.append(Operation("upload", path, entry["size"], entry["sha256"],
                                    _stage(path, entry["kind"], old is not None)))
    # Deleting only what an earlier manifest published: nothing else on the server is ours.
    for path in sorted(set(remote_files) - set(local["files"])):
        operations.append(Operation("delete", path, 0, remote_files[path]["sha256"], "delete"))
    order = {stage: number for number, stage in enumerate(STAGES)}
    operations.sort(key=lambda op: (order[op.stage], op.path))
    return DeployPlan(site, target, remote["version"] if remote else "", local["version"],
                      tuple(operations))


def describe(plan: DeployPlan) -> str:
    """The plan as the dry run prints it: every operation with its bytes, then totals."""
    lines = [f"deploy {plan.site} to {plan.target}: "
             f"{plan.from_version[:12] or '(nothing)'} -> {plan.to_version[:12]} "
             f"(plan {plan.digest})"]
    lines += [f"  {op.action:<6} {op.stage:<7} {op.size:>10}  {op.path}" for op in plan.operations]
    uploads = sum(1 for op in plan.operations if op.action == "upload")
    deletes = len(plan.operations) - uploads
    lines.append(f"{uploads} uploads ({plan.bytes} bytes), {deletes} deletions"
                 + (", nothing to do" if not plan.operations else ""))
    return "\n".join(lines) + "\n"
