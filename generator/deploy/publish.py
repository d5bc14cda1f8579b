"""`sitegen deploy` and `sitegen rollback`: carry out a plan with a pool of connections.

The target's state folder (`targets.<name>.state`, by default `<root>/.sitegen-state`, which
the generated .htaccess refuses) holds:

- `manifest.json`: which version is live; `versions/<id>.json.gz`: the manifests of the
  live version and of those kept for rollback (files, and what rollback checks: winners of
  experiments, migrations, links into other sites of the network); `history.json`: the
  order they went live in (see state.py);
- `journal.jsonl`: every deploy and rollback, appended as it happens;
- `lock/` while a deploy runs (see lock.py), and `progress.jsonl` until it is finished, so
  that the next deploy after a kill does only what is still missing;
- `objects/<sha256>`: contents those versions need that are no longer live, moved there by
  renames on the server as deploys replace or delete them.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from generator.config.settings import Target
from generator.deploy import lock
from generator.deploy.check import http_check
from generator.deploy.connection import connect
from generator.deploy.execute import Executor, temporary_name, verify_content
from generator.deploy.meta import page_links
from generator.deploy.notify import notify
from generator.deploy.plan import STAGES, DeployPlan, Operation, plan_deploy
from generator.deploy.remote import Pool, Remote, RemoteError
from generator.deploy.state import (
    PROGRESS,
    add_progress,
    live_pointer,
    read_manifest,
    read_progress,
    read_version,
    start_progress,
    switch_to,
    write_version,
)
from generator.errors import DeployError
from generator.layout import BuildLayout

PROGRESS_EVERY = 20
SHA256 = re.compile(r"[0-9a-f]{64}")
TEMPORARY = re.compile(r"\.sitegen(-[0-9a-f]{12})?\.tmp$")
"""Names of the temporary files deploys upload before renaming them into place."""


@dataclass
class DeployReport:
    plan: DeployPlan
    kind: str = "deploy"
    uploaded: int = 0
    restored: int = 0
    """Files put back by renames on the server."""
    skipped: int = 0
    """Operations a killed deploy had already done."""
    deleted: int = 0
    bytes: int = 0
    seconds: float = 0.0
    verified: int = 0
    """Files re-downloaded and re-hashed (`--verify full`)."""


@dataclass
class Origin:
    """Who deploys, from which commit, and where else to tell (for the journal)."""

    who: str
    commit: str
    local_journal: Path | None = None
    """A JSONL file that gets the journal's final entry too."""
    notes: list[str] = field(default_factory=list)
    """What happened besides the plan: limits learned, checks, notifications. Filled even
    when the run fails."""
    told: bool = False
    """Whether the local journal has this run's outcome."""


def local_manifest(build_dir: Path, site: str) -> dict[str, Any]:
    path = BuildLayout(build_dir).manifest(site)
    try:
        result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployError(f"no build of site '{site}' in {build_dir}: run sitegen build "
                          "first") from None
    return result


def stored_objects(remote: Remote) -> set[str]:
    return {name for name in remote.listdir(remote.state_path("objects"))
            if SHA256.fullmatch(name)}


def deploy(site: str, target: Target, build_dir: Path, meta: dict[str, Any], origin: Origin, *,
           dry_run: bool = False, max_bytes: int | None = None, break_lock: bool = False,
           verify_full: bool = False, expected_plan: str | None = None,
           confirm: Callable[[DeployPlan], bool] = lambda plan: True,
           show: Callable[[DeployPlan], None] = lambda plan: None) -> DeployReport:
    """Publish the local build of `site`; `meta` goes into the remote manifest."""
    local = local_manifest(build_dir, site)
    if local.get("preview"):
        raise DeployError(f"{build_dir} holds a preview build of '{site}' (a variant switcher "
                          "on every page, noindex everywhere): it is never published; "
                          "deploy a build made without --preview")
    with recorded_failures(origin, site, target, "deploy", local["version"], dry_run):
        control = Remote(connect(target), target)
        try:
            current = read_manifest(control)
            stored = stored_objects(control) if target.keep else set()
            plan = plan_deploy(site, target.name, local, current, stored,
                               links_of=page_links(build_dir / site))
            show(plan)
            report = DeployReport(plan)
            if expected_plan is not None and expected_plan != plan.digest:
                raise DeployError(f"the plan is now {plan.digest}, not {expected_plan}: the "
                                  "build or the server changed since; look at the new plan")
            if dry_run:
                return report
            if not plan.operations:
                _finish_dead_run(control, target, plan, origin, break_lock)
                return report
            if max_bytes is not None and plan.bytes > max_bytes:
                raise DeployError(f"the plan uploads {plan.bytes} bytes, more than "
                                  f"--max-bytes {max_bytes}; nothing was changed")
            if not confirm(plan):
                raise Cancelled("deploy cancelled; nothing was changed")
            manifest = {**local, **meta, "deployed": time.time(), "commit": origin.commit}
            execute(control, target, plan, manifest, current, Executor(
                build_dir / site, target.keep > 0, stored, target.atomic_replace), report,
                origin, break_lock, verify_full)
            return report
        finally:
            control.close()


STATE_HTACCESS = b"""# Written by sitegen deploy: nothing in its state folder is ever served,
# whatever modules the server has (a host that allows no AuthConfig answers 500: still
# refused).
<IfModule mod_authz_core.c>
Require all denied
</IfModule>
<IfModule !mod_authz_core.c>
Order allow,deny
Deny from all
</IfModule>
"""


def protect_state(remote: Remote) -> None:
    """A state folder inside the web root gets an .htaccess that refuses everything in it
    (the site's own .htaccess refuses dot paths too, but only where mod_alias or
    mod_rewrite is loaded)."""
    inside = posixpath.relpath(remote.state, remote.root)
    if inside.startswith(".."):
        return
    path = remote.state_path(".htaccess")
    if remote.size(path) != len(STATE_HTACCESS):
        remote.write_bytes(path, STATE_HTACCESS)


@contextmanager
def recorded_failures(origin: Origin, site: str, target: Target, kind: str, version: str,
                      dry_run: bool) -> Iterator[None]:
    """A run that fails before `execute` records its outcome (cannot connect, a damaged
    state folder, a refused lock...) still gets a `failed` entry in the local journal."""
    try:
        yield
    except DeployError as error:
        if not dry_run and not origin.told and not isinstance(error, Cancelled):
            _tell_local(origin, {"kind": kind, "time": time.time(), "who": origin.who,
                                 "commit": origin.commit, "site": site, "target": target.name,
                                 "to": version, "event": "failed", "error": error.message})
        raise


class Cancelled(DeployError):
    """The user said no at the prompt: nothing was done, and nothing failed."""


class OperationFailed(DeployError):
    """An operation of the plan failed for good."""

    def __init__(self, operation: Operation, message: str) -> None:
        super().__init__(message)
        self.operation = operation


def execute(control: Remote, target: Target, plan: DeployPlan, manifest: dict[str, Any],
            current: dict[str, Any] | None, executor: Executor, report: DeployReport,
            origin: Origin, break_lock: bool, verify_full: bool) -> None:
    """Carry out a plan: lock, stages in order with a pool, the manifest, deletions, the
    kept versions, the journal. Any error journals the failure (with the failing
    operation), removes the run's temporary files, releases the lock and raises; a kill
    leaves the lock and the progress for the next run."""
    started = time.monotonic()
    deploy_id = uuid.uuid4().hex[:12]
    journal = {"id": deploy_id, "kind": report.kind, "time": time.time(), "who": origin.who,
               "commit": origin.commit, "site": plan.site, "target": target.name,
               "from": plan.from_version, "to": plan.to_version, "plan": plan.digest,
               "operations": len(plan.operations), "bytes": plan.bytes}
    pool = Pool(target, control)
    finished: list[list[str]] = []
    outcome: dict[str, Any] = {}
    locked = False
    lock_taken = [time.time()]

    def record(remote: Remote, op: Operation) -> None:
        finished.append([op.action, op.path, op.sha256])
        if (op.path, op.sha256) in executor.found:
            report.skipped += 1
        elif op.action == "delete":
            report.deleted += 1
        elif op.action == "restore":
            report.restored += 1
        else:
            report.uploaded += 1
            report.bytes += op.sent
        if len(finished) == PROGRESS_EVERY:
            add_progress(remote, finished)
            finished.clear()
            if time.time() - lock_taken[0] > lock.LOCK_SECONDS / 2:
                # A long deploy keeps its lock: a dead one's lock still expires.
                lock.renew(remote, origin.who, deploy_id)
                lock_taken[0] = time.time()

    def run(operations: list[Operation], work: Callable[[Remote, Operation, int], None],
            after: Callable[[Remote, Operation], None] = record) -> None:
        failure = pool.run(operations, work, after)
        if failure is not None:
            op = failure.item
            raise OperationFailed(op, f"{op.path}: {op.action} failed: "
                                  + failure.message.removeprefix(f"{op.path}: "))

    try:
        for folder in ("", "objects", "versions"):
            control.makedirs(control.state_path(folder) if folder else control.state)
        control.probe_rename_over(deploy_id)
        if not control.rename_over and (current or {}).get("files"):
            origin.notes.append("the server does not rename over an existing file: each "
                                "replaced file is removed first, and missing for a moment")
        origin.notes.extend(lock.take_lock(control, deploy_id, origin.who, break_lock))
        locked = True
        live, pending = live_pointer(control)
        if (live, pending) != (plan.from_version, (current or {}).get("pending_deletions",
                                                                        {})):
            # Another deploy finished between our plan and our lock.
            raise DeployError(f"the target changed while this {report.kind} was planned "
                              f"(it is now at {live[:12] or 'nothing'}); nothing was "
                              "changed: run it again")
        protect_state(control)   # under the lock: its temporary name is not per run
        pool.rename_over = control.rename_over
        under_way, done = read_progress(control)
        resuming = under_way == plan.to_version
        executor.distrust = bool(under_way) and not resuming
        temporaries: list[Leftover] = []
        orphans: list[Leftover] = []
        if under_way and not resuming:
            temporaries, orphans = left_by(control, under_way, current, plan, manifest)
            removed = remove_leftovers(pool, temporaries)
            if removed:
                origin.notes.append(f"removed {removed} temporary file(s) an interrupted "
                                    f"deploy of {under_way[:12]} had left")
        if not resuming:
            done = set()
            # Written before the first operation: a run killed before the next progress
            # write is still known as one to resume.
            start_progress(control, plan.to_version)
        executor.resuming = resuming
        control.append_journal({**journal, "event": "start"})
        if current is not None:
            write_version(control, current)
        write_version(control, manifest)
        todo = [op for op in plan.operations if (op.action, op.path, op.sha256) not in done]
        report.skipped = len(plan.operations) - len(todo)
        make_folders(control, [op.path for op in todo if op.action != "delete"], current)
        for stage in STAGES[:STAGES.index("delete")]:
            for wave in sorted({op.wave for op in todo if op.stage == stage}):
                run([op for op in todo if op.stage == stage and op.wave == wave], executor)
        # The new manifest names the files still to delete: a deploy killed among the
        # deletions leaves them owned, and the next one deletes them.
        deletions = [op for op in plan.operations if op.action == "delete"]
        remote = _any(pool, control)
        switch_to(remote, manifest, {
            op.path: {"sha256": op.sha256,
                      "kind": "asset" if op.stage == "delete-asset" else "file"}
            for op in deletions})
        for stage in STAGES[STAGES.index("delete"):]:
            run([op for op in todo if op.stage == stage], executor)
        if orphans:
            # Last, with the deletions: until the new pages are in place, a page the
            # abandoned run placed may still reference them.
            removed = remove_leftovers(pool, orphans)
            if removed:
                origin.notes.append(f"removed {removed} file(s) an interrupted deploy of "
                                    f"{under_way[:12]} had published and no version has")
        remote = _any(pool, control)
        if deletions:
            # Even when a killed run had done every deletion: the pending list must go, or
            # a file republished at one of its paths would count as there already.
            switch_to(remote, manifest)
        if verify_full:
            placed = [op for op in plan.operations if op.action != "delete"]
            run(placed, verify_content, lambda remote, op: None)
            report.verified = len(placed)
        _remember(remote, target, plan, deploy_id, report.kind)
        report.seconds = time.monotonic() - started
        report.bytes += executor.kept_bytes
        problems = http_check(target.check_url, plan, manifest) if target.check_url else []
        outcome = {**journal, "event": "unverified" if problems else "done",
                   "uploaded": report.uploaded, "restored": report.restored,
                   "skipped": report.skipped, "deleted": report.deleted,
                   "sent": report.bytes, "retries": pool.retries,
                   "seconds": round(report.seconds, 3)}
        if problems:
            outcome["error"] = "; ".join(problems)
        elif target.check_url:
            origin.notes.append(f"HTTP check of {target.check_url}: served as deployed")
        remote.append_journal(outcome)
        remote.remove_state(PROGRESS)
        lock.release(remote)
        locked = False
        if problems:
            raise DeployError(f"the {report.kind} is on the server but not verified: "
                              + "; ".join(problems))
    except DeployError as error:
        if outcome.get("event") == "unverified":
            raise
        outcome = {**journal, "event": "failed", "error": error.message}
        if isinstance(error, OperationFailed):
            outcome.update(operation=error.operation.action, path=error.operation.path)
        if not locked:
            raise   # nothing of ours to undo: the lock was never taken
        left = _clean_up(pool, control, outcome, finished, executor)
        raise DeployError(f"{error.message} ({report.kind} stopped; the next run resumes "
                          f"it){left}") from None
    finally:
        pool.idle = [r for r in pool.idle if r is not control]
        pool.close()
        origin.notes.extend(pool.notes)
        if outcome:
            _tell(target, origin, outcome)


def make_folders(remote: Remote, paths: list[str], current: dict[str, Any] | None) -> None:
    """Create the folders `paths` need, parents first, one MKD each, leaving out those that
    hold files of the live version (they exist)."""
    def parents(path: str) -> Iterator[str]:
        folder = path.rpartition("/")[0]
        while folder:
            yield folder
            folder = folder.rpartition("/")[0]

    existing = {folder for path in (current or {}).get("files", {}) for folder in parents(path)}
    needed = {folder for path in paths for folder in parents(path)} - existing
    for folder in sorted(needed, key=lambda folder: (folder.count("/"), folder)):
        remote.make_folder(remote.path(folder))


def _clean_up(pool: Pool, control: Remote, outcome: dict[str, Any],
              finished: list[list[str]], executor: Executor) -> str:
    """After a failure: keep the progress, journal the failure, remove the run's temporary
    files and release the lock, each as far as the server allows. Returns what could not
    be done, for the error message."""
    left: list[str] = []

    def attempt(step: Callable[[Remote], None]) -> DeployError | None:
        for _ in range(2):   # a dropped connection gets one fresh one
            try:
                step(_any(pool, control))
                return None
            except RemoteError as error:
                if not error.transient:
                    return error
                problem: DeployError = error
            except DeployError as error:
                return error
        return problem

    if finished:
        attempt(lambda remote: add_progress(remote, finished))   # else the next run checks
    problem = attempt(lambda remote: remote.append_journal(outcome))
    if problem is not None:
        left.append(f"the target's journal could not record the failure ({problem.message})")
    for live, sha256 in sorted(executor.displaced.items()):
        # The old content was set aside and the new one never arrived: put it back, so
        # that a failed run leaves no page missing.
        if attempt(partial(_put_back, path=live, sha256=sha256)) is None:
            executor.stored.discard(sha256)
        else:
            left.append(f"{live} is missing on the server (its content is in "
                        f"{control.state_path('objects', sha256)}); the next deploy puts "
                        "it in place")
    temporaries = sorted(executor.temporaries)
    for temporary in temporaries:
        if attempt(partial(_remove_if_there, path=temporary)) is None:
            executor.temporaries.discard(temporary)
    if executor.temporaries:
        left.append("temporary files are left on the server (the next deploy removes "
                    "them): " + ", ".join(sorted(executor.temporaries)))
    problem = attempt(lock.release)
    if problem is not None:
        left.append(f"the lock is left on the server ({problem.message}); the next deploy "
                    "needs --break-lock, or remove "
                    f"{control.state_path(lock.FOLDER)}/ by hand")
    return "".join(f"; {item}" for item in left)


def _put_back(remote: Remote, *, path: str, sha256: str) -> None:
    if remote.size(path) is None:
        remote.rename(remote.state_path("objects", sha256), path)


def _remove_if_there(remote: Remote, *, path: str) -> None:
    if remote.size(path) is not None:
        remote.remove(path)


def left_by(control: Remote, version: str, current: dict[str, Any] | None,
            plan: DeployPlan, wanted: dict[str, Any]) -> tuple[list[Leftover], list[Leftover]]:
    """What a run for another version (killed, or failed without being able to clean up)
    may have left in the web root: the temporary files of its uploads, and the new files it
    placed that neither the live version nor `wanted` has. What this run's plan uses is
    not among them."""
    abandoned = read_version(control, version)
    if abandoned is None:
        return [], []
    theirs = [op for op in plan_deploy(plan.site, plan.target, abandoned, current).operations
              if op.action in ("upload", "copy")]
    ours = {(op.path, op.sha256) for op in plan.operations}
    keep = set((current or {}).get("files", {})) | set(wanted["files"])
    temporaries = [Leftover(temporary_name(control.path(op.path), op.sha256), op)
                   for op in theirs if (op.path, op.sha256) not in ours]
    files = [Leftover(control.path(op.path), op) for op in theirs if op.path not in keep]
    return temporaries, files


@dataclass(frozen=True, slots=True)
class Leftover:
    path: str
    """Remote path."""
    op: Operation
    """The abandoned run's operation that made it."""


def remove_leftovers(pool: Pool, leftovers: list[Leftover]) -> int:
    """Remove those leftovers that hold what their operation sent (size; sha256 too for
    files a visitor could be served): anything else at such a path is not ours. Returns
    how many were removed."""
    removed: list[str] = []

    def remove(remote: Remote, leftover: Leftover, attempt: int) -> None:
        size = remote.size(leftover.path)
        if size is None or size != leftover.op.size:
            return
        if not leftover.path.endswith(".tmp") and \
                hashlib.sha256(remote.get(leftover.path)).hexdigest() != leftover.op.sha256:
            return
        remote.remove(leftover.path)
        with pool.lock:
            removed.append(leftover.path)

    failure = pool.run(leftovers, remove)
    if failure is not None:
        raise DeployError(f"removing what an interrupted deploy left: {failure.message}")
    return len(removed)


def _tell(target: Target, origin: Origin, outcome: dict[str, Any]) -> None:
    """The local journal and the notifications get the outcome of a run."""
    _tell_local(origin, outcome)
    summary = {**outcome, "result": {"done": "succeeded"}.get(outcome["event"],
                                                               outcome["event"])}
    for problem in notify(target, summary):
        origin.notes.append(f"notification failed: {problem}")


def _tell_local(origin: Origin, outcome: dict[str, Any]) -> None:
    origin.told = True
    if origin.local_journal is not None:
        origin.local_journal.parent.mkdir(parents=True, exist_ok=True)
        with open(origin.local_journal, "a", encoding="utf-8") as stream:
            stream.write("\n" + json.dumps(outcome, sort_keys=True) + "\n")


def _finish_dead_run(control: Remote, target: Target, plan: DeployPlan, origin: Origin,
                     break_lock: bool) -> None:
    """Nothing to publish, but a killed run may have left its bookkeeping behind: a run
    killed after its last operation left the server complete but its lock and progress;
    one killed after its last journal entry left its lock. Record and clean up what is
    provably over (or what --break-lock says is), and leave a live run's lock alone."""
    under_way, _ = read_progress(control)
    holder = lock.held(control)
    if holder is not None:
        reason = lock.stale_reason(control, holder, break_lock)
        if reason is None:
            if under_way:
                origin.notes.append(f"a deploy is under way ({holder.describe()}); left "
                                    "alone")
            return
    if under_way == plan.to_version:
        history = control.read_json("history.json") or []
        if not history or history[-1]["version"] != plan.to_version:
            _remember(control, target, plan, holder.deploy if holder else "", "deploy")
        control.append_journal({"id": holder.deploy if holder else "", "kind": "deploy",
                                "time": time.time(), "who": origin.who, "site": plan.site,
                                "target": target.name, "to": plan.to_version,
                                "event": "done",
                                "note": "finished the bookkeeping of a run that was killed"})
        control.remove_state(PROGRESS)
        origin.notes.append("a killed run had published everything: recorded it")
    if holder is not None:
        lock.release(control)
        origin.notes.append(f"removed the lock of {holder.describe()}: {reason}")


def _any(pool: Pool, control: Remote) -> Remote:
    """A connection that still works: the control one, or a fresh one if it dropped (the
    pool closes it with its own)."""
    if control.alive():
        return control
    for remote in list(pool.idle):
        if remote is not control and remote.alive():
            return remote
    fresh = Remote(connect(control.target), control.target)
    fresh.rename_over = control.rename_over
    fresh.can_append = control.can_append
    pool.idle.append(fresh)
    return fresh


def _remember(remote: Remote, target: Target, plan: DeployPlan, deploy_id: str,
              kind: str) -> None:
    """Add the version to the history; drop kept versions and stored contents past `keep`."""
    history = remote.read_json("history.json") or []
    history.append({"version": plan.to_version, "time": time.time(), "id": deploy_id,
                    "kind": kind})
    remote.write_json("history.json", history)
    kept = kept_versions(history, target.keep)
    needed: set[str] = set()
    for version in kept:
        document = read_version(remote, version)
        if document is not None:
            needed.update(entry["sha256"] for entry in document["files"].values())
    for name in remote.listdir(remote.state_path("versions")):
        if name.split(".")[0] not in kept:
            remote.remove(remote.state_path("versions", name))
    for sha in stored_objects(remote) - needed:
        remote.remove(remote.state_path("objects", sha))


def kept_versions(history: list[dict[str, Any]], keep: int) -> list[str]:
    """The current version, then up to `keep` earlier ones, newest first."""
    kept: list[str] = []
    for entry in reversed(history):
        if entry["version"] not in kept:
            kept.append(entry["version"])
        if len(kept) > keep:
            break
    return kept[:keep + 1]
