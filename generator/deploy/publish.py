"""`sitegen deploy`: execute a deploy plan over one FTP/FTPS connection.

Remote state lives in `<root>/.sitegen-state/` (the generated .htaccess refuses every path
that starts with a dot): the deployed manifest, the journal (JSONL), the lock, and the
progress of a deploy under way, so that a deploy killed at any moment is finished by the
next one, which skips what already arrived.

Each upload goes to a temporary name and is renamed over the live file, so a visitor never
gets half a file; each file's size is checked on the server after its upload.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import posixpath
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.deploy.connection import Target, connect
from generator.deploy.plan import DeployPlan, Operation, plan_deploy
from generator.errors import DeployError

STATE_DIR = ".sitegen-state"
LOCK_SECONDS = 3600
PROGRESS_EVERY = 20


@dataclass
class DeployReport:
    plan: DeployPlan
    uploaded: int = 0
    skipped: int = 0
    """Operations a killed deploy had already done."""
    deleted: int = 0
    bytes: int = 0
    seconds: float = 0.0


def local_manifest(build_dir: Path, site: str) -> dict[str, Any]:
    path = build_dir / ".sitegen" / "sites" / site / "manifest.json"
    try:
        result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployError(f"no build of site '{site}' in {build_dir}: run sitegen build "
                          "first") from None
    return result


class Remote:
    """The remote web root and its state folder, through an ftputil host."""

    def __init__(self, host: Any, target: Target) -> None:
        self.host = host
        self.root = target.root.rstrip("/") or "/"
        self.state = posixpath.join(self.root, STATE_DIR)

    def path(self, relative: str) -> str:
        parts = relative.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise DeployError(f"remote path '{relative}' would leave the web root")
        return posixpath.join(self.root, relative)

    def read_json(self, name: str) -> Any:
        path = posixpath.join(self.state, name)
        if not self.host.path.isfile(path):
            return None
        with self.host.open(path, "r", encoding="utf-8") as stream:
            return json.load(stream)

    def write_bytes(self, destination: str, data: bytes) -> None:
        """Upload under a temporary name, then rename over the destination."""
        self.host.makedirs(posixpath.dirname(destination) or "/", exist_ok=True)
        temporary = f"{destination}.sitegen-{uuid.uuid4().hex[:8]}.tmp"
        with self.host.open(temporary, "wb") as stream:
            stream.write(data)
        try:
            self.host.rename(temporary, destination)
        except Exception:
            # Some servers refuse to rename over an existing file: replace it instead.
            if self.host.path.exists(destination):
                self.host.remove(destination)
            self.host.rename(temporary, destination)

    def write_json(self, name: str, value: Any) -> None:
        data = (json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n").encode()
        self.write_bytes(posixpath.join(self.state, name), data)

    def append_journal(self, entry: dict[str, Any]) -> None:
        path = posixpath.join(self.state, "journal.jsonl")
        self.host.makedirs(self.state, exist_ok=True)
        existing = b""
        if self.host.path.isfile(path):
            with self.host.open(path, "rb") as stream:
                existing = stream.read()
        self.write_bytes(path, existing + (json.dumps(entry, sort_keys=True) + "\n").encode())

    def remove_state(self, name: str) -> None:
        path = posixpath.join(self.state, name)
        if self.host.path.isfile(path):
            self.host.remove(path)


def _who() -> str:
    return os.environ.get("SITEGEN_DEPLOYER") or getpass.getuser()


def _acquire_lock(remote: Remote, deploy_id: str, break_lock: bool) -> None:
    lock = remote.read_json("lock.json")
    if lock and lock.get("expires", 0) > time.time() and not break_lock:
        raise DeployError(f"the target is locked by {lock.get('owner')} (deploy "
                          f"{lock.get('deploy')}, until {time.ctime(lock['expires'])}); wait, "
                          "or pass --break-lock if that deploy is dead")
    remote.write_json("lock.json", {"owner": _who(), "deploy": deploy_id,
                                    "expires": time.time() + LOCK_SECONDS})


def deploy(site: str, target: Target, build_dir: Path, *, dry_run: bool = False,
           max_bytes: int | None = None, break_lock: bool = False,
           confirm: Callable[[DeployPlan], bool] = lambda plan: True,
           show: Callable[[DeployPlan], None] = lambda plan: None) -> DeployReport:
    local = local_manifest(build_dir, site)
    started = time.monotonic()
    with connect(target) as host:
        remote = Remote(host, target)
        plan = plan_deploy(site, target.name, local, remote.read_json("manifest.json"))
        show(plan)
        report = DeployReport(plan)
        if dry_run or not plan.operations:
            return report
        if max_bytes is not None and plan.bytes > max_bytes:
            raise DeployError(f"the plan uploads {plan.bytes} bytes, more than --max-bytes "
                              f"{max_bytes}; nothing was changed")
        if not confirm(plan):
            raise DeployError("deploy cancelled; nothing was changed")
        deploy_id = uuid.uuid4().hex[:12]
        _acquire_lock(remote, deploy_id, break_lock)
        progress = remote.read_json("progress.json") or {}
        done = set(map(tuple, progress.get("done", []))) \
            if progress.get("to_version") == plan.to_version else set()
        journal = {"id": deploy_id, "time": time.time(), "who": _who(), "site": site,
                   "target": target.name, "from": plan.from_version, "to": plan.to_version,
                   "plan": plan.digest, "operations": len(plan.operations),
                   "bytes": plan.bytes}
        remote.append_journal({**journal, "event": "start"})
        site_dir = build_dir / site
        try:
            finished: list[list[str]] = [list(item) for item in done]
            for number, op in enumerate(plan.operations):
                if op.action == "delete":
                    continue
                if (op.path, op.sha256) in done:
                    report.skipped += 1
                    continue
                _upload(remote, site_dir, op)
                report.uploaded += 1
                report.bytes += op.size
                finished.append([op.path, op.sha256])
                if number % PROGRESS_EVERY == PROGRESS_EVERY - 1:
                    remote.write_json("progress.json", {"to_version": plan.to_version,
                                                        "done": finished})
            # The new manifest names the files still to delete: a deploy killed among the
            # deletions leaves them owned, and the next one deletes them.
            deletions = [op for op in plan.operations if op.action == "delete"]
            remote.write_json("manifest.json", {
                **local, "pending_deletions": {op.path: {"sha256": op.sha256}
                                               for op in deletions}})
            for op in deletions:
                _delete(remote, op.path)
                report.deleted += 1
            if deletions:
                remote.write_json("manifest.json", local)
        except DeployError as error:
            remote.append_journal({**journal, "event": "failed", "error": error.message})
            raise
        report.seconds = time.monotonic() - started
        remote.append_journal({**journal, "event": "done", "uploaded": report.uploaded,
                               "skipped": report.skipped, "deleted": report.deleted,
                               "seconds": round(report.seconds, 3)})
        remote.remove_state("progress.json")
        remote.remove_state("lock.json")
    _append_local_journal(build_dir, site, {**journal, "event": "done",
                                            "uploaded": report.uploaded})
    return report


def _upload(remote: Remote, site_dir: Path, op: Operation) -> None:
    data = (site_dir / op.path).read_bytes()
    if len(data) != op.size:
        raise DeployError(f"{op.path}: the local file changed since the build "
                          f"({len(data)} bytes, manifest says {op.size}); build again")
    destination = remote.path(op.path)
    remote.write_bytes(destination, data)
    size = remote.host.path.getsize(destination)
    if size != op.size:
        raise DeployError(f"{op.path}: the server has {size} bytes after the upload, "
                          f"expected {op.size}")


def _delete(remote: Remote, relative: str) -> None:
    path = remote.path(relative)
    if remote.host.path.isfile(path):
        remote.host.remove(path)


def _append_local_journal(build_dir: Path, site: str, entry: dict[str, Any]) -> None:
    path = build_dir / ".sitegen" / "sites" / site / "journal.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(entry, sort_keys=True) + "\n")



def describe_changes(site: str, target: Target, build_dir: Path) -> str:
    """`sitegen diff`: what a deploy would change now, by kind of file."""
    local = local_manifest(build_dir, site)
    with connect(target) as host:
        remote = Remote(host, target).read_json("manifest.json")
    plan = plan_deploy(site, target.name, local, remote)
    return summarize_changes(plan, local, remote["files"] if remote else {})


def remote_journal(target: Target) -> list[dict[str, Any]]:
    """Every entry of the target's journal, oldest first."""
    with connect(target) as host:
        remote = Remote(host, target)
        path = posixpath.join(remote.state, "journal.jsonl")
        if not host.path.isfile(path):
            return []
        with host.open(path, "r", encoding="utf-8") as stream:
            return [json.loads(line) for line in stream if line.strip()]


def summarize_changes(plan: DeployPlan, local: dict[str, Any],
                      remote_files: dict[str, Any]) -> str:
    """`sitegen diff`: the plan in human terms, by kind of file."""
    counts: dict[tuple[str, str], int] = {}
    for op in plan.operations:
        if op.action == "delete":
            change, kind = "removed", remote_files.get(op.path, {}).get("kind", "file")
        else:
            change = "changed" if op.path in remote_files else "added"
            kind = local["files"][op.path]["kind"]
        counts[(kind, change)] = counts.get((kind, change), 0) + 1
    if not counts:
        return f"{plan.site} on {plan.target} is up to date ({plan.to_version[:12]})\n"
    lines = [f"{plan.site} on {plan.target}: {plan.from_version[:12] or '(nothing)'} -> "
             f"{plan.to_version[:12]}"]
    for kind in ("page", "variant", "asset", "data", "routing"):
        parts = [f"{counts[(kind, change)]} {change}" for change in ("added", "changed", "removed")
                 if (kind, change) in counts]
        if parts:
            lines.append(f"  {kind}s: {', '.join(parts)}")
    lines.append(f"  {plan.bytes} bytes to upload")
    return "\n".join(lines) + "\n"


def remote_status(site: str, target: Target, full: bool = False) -> str:
    """`sitegen status`: the deployed version, and drift: files changed, missing or added on
    the server since (by size, or by sha256 with `full`)."""
    with connect(target) as host:
        remote = Remote(host, target)
        manifest = remote.read_json("manifest.json")
        if manifest is None:
            return f"{site} on {target.name}: nothing deployed yet\n"
        drift = []
        for path, entry in sorted(manifest["files"].items()):
            remote_path = remote.path(path)
            if not host.path.isfile(remote_path):
                drift.append(f"  missing  {path}")
                continue
            if host.path.getsize(remote_path) != entry["size"]:
                drift.append(f"  changed  {path} (size)")
            elif full:
                with host.open(remote_path, "rb") as stream:
                    digest = hashlib.sha256(stream.read()).hexdigest()
                if digest != entry["sha256"]:
                    drift.append(f"  changed  {path} (content)")
    lines = [f"{site} on {target.name}: version {manifest['version'][:12]}, "
             f"{len(manifest['files'])} files"]
    lines += drift or ["  no drift" + (" (sizes; --full compares contents)" if not full
                                       else "")]
    return "\n".join(lines) + "\n"
