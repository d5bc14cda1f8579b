"""Carrying out a deploy plan (or a rollback's) with a pool of connections.

One run: take the lock, check that nothing changed since the plan, clean up after a killed
run for another version, place files stage by stage, switch the live version, delete, record
the version in the history and the journal, release the lock. Any error journals the
failure (with the failing operation), puts back what the run had set aside, removes its
temporary files, releases the lock and raises; a kill leaves the lock and the progress for
the next run, which resumes it.
"""

from __future__ import annotations

import hashlib
import posixpath
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from generator.config.settings import Target
from generator.deploy import lock
from generator.deploy.bookkeeping import Origin, protect_state, remember, tell
from generator.deploy.check import http_check, login_check
from generator.deploy.execute import Executor, temporary_name, verify_content
from generator.deploy.meta import promotions
from generator.deploy.plan import STAGES, DeployPlan, Operation, plan_deploy
from generator.deploy.remote import Pool, Remote, RemoteError
from generator.deploy.state import (
    PROGRESS,
    REMOTE_STATE,
    add_progress,
    live_pointer,
    read_progress,
    read_version,
    start_progress,
    state_format,
    switch_to,
    write_version,
)
from generator.errors import DeployError
from generator.manifest import Manifest

PROGRESS_EVERY = 20


@dataclass(frozen=True)
class RunOptions:
    """How a deploy or a rollback runs (from the command line)."""

    dry_run: bool = False
    """Plan and show, change nothing."""
    break_lock: bool = False
    """Take the lock even from a run that may still be alive."""
    verify_full: bool = False
    """Download and hash every placed file at the end (`--verify full`)."""


@dataclass(frozen=True)
class Job:
    """What one run publishes."""

    target: Target
    plan: DeployPlan
    manifest: Manifest
    """The manifest of the version that goes live."""
    current: Manifest | None
    """The manifest of the live version (None on an empty target)."""
    kind: str = "deploy"
    """`deploy` or `rollback`, for the journal and the messages."""


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


class OperationFailed(DeployError):
    """An operation of the plan failed for good."""

    def __init__(self, operation: Operation, message: str) -> None:
        super().__init__(message)
        self.operation = operation


@dataclass(frozen=True, slots=True)
class Leftover:
    path: str
    """Remote path."""
    op: Operation
    """The abandoned run's operation that made it."""


def execute(
    control: Remote, job: Job, executor: Executor, origin: Origin, options: RunOptions
) -> DeployReport:
    """Carry out `job.plan` (see the module's docstring); `control` stays open."""
    return Run(control, job, executor, origin, options).carry_out()


class Finished:
    """The run's finished operations: counted in the report, added to the progress file
    every PROGRESS_EVERY, the lock renewed as they go. Called by the pool under its lock."""

    def __init__(self, report: DeployReport, executor: Executor, who: str, deploy_id: str) -> None:
        self.report = report
        self.executor = executor
        self.who = who
        self.deploy_id = deploy_id
        self.unwritten: list[list[str]] = []
        """Finished operations not yet in the progress file."""
        self.lock_renewed = time.time()

    def __call__(self, remote: Remote, op: Operation) -> None:
        self.unwritten.append([op.action, op.path, op.sha256])
        report = self.report
        if (op.path, op.sha256) in self.executor.found:
            report.skipped += 1
        elif op.action == "delete":
            report.deleted += 1
        elif op.action == "restore":
            report.restored += 1
        else:
            report.uploaded += 1
            report.bytes += op.sent
        if len(self.unwritten) == PROGRESS_EVERY:
            add_progress(remote, self.unwritten)
            self.unwritten = []
            if time.time() - self.lock_renewed > lock.LOCK_SECONDS / 2:
                # A long deploy keeps its lock: a dead one's lock still expires.
                lock.renew(remote, self.who, self.deploy_id)
                self.lock_renewed = time.time()


class Run:
    """One run of `execute`."""

    def __init__(
        self, control: Remote, job: Job, executor: Executor, origin: Origin, options: RunOptions
    ) -> None:
        self.control = control
        self.job = job
        self.executor = executor
        self.origin = origin
        self.options = options
        self.deploy_id = uuid.uuid4().hex[:12]
        self.report = DeployReport(job.plan, kind=job.kind)
        self.pool = Pool(job.target, control)
        self.finished = Finished(self.report, executor, origin.who, self.deploy_id)
        plan = job.plan
        self.journal = {
            "id": self.deploy_id,
            "kind": job.kind,
            "time": time.time(),
            "who": origin.who,
            **({"user": origin.user} if origin.user else {}),
            **origin.recorded,
            "commit": origin.commit,
            "site": plan.site,
            "target": job.target.name,
            "from": plan.from_version,
            "to": plan.to_version,
            "plan": plan.digest,
            "operations": len(plan.operations),
            "bytes": plan.bytes,
        }
        promoted = promotions(job.current, job.manifest)
        if promoted:
            # The journal and the notifications say which concluded experiments go live.
            self.journal["promoted"] = promoted
        self.locked = False
        self.outcome: dict[str, Any] = {}
        """The journal's final entry, once there is one."""

    def carry_out(self) -> DeployReport:
        started = time.monotonic()
        try:
            todo, abandoned, orphans = self._prepare()
            self._publish(todo, abandoned, orphans)
            self._finish(started)
        except DeployError as error:
            if self.outcome.get("event") == "unverified":
                raise
            self.outcome = {**self.journal, "event": "failed", "error": error.message}
            if isinstance(error, OperationFailed):
                self.outcome.update(operation=error.operation.action, path=error.operation.path)
            if not self.locked:
                raise  # nothing of ours to undo: the lock was never taken
            left = clean_up(self.pool, self.outcome, self.finished.unwritten, self.executor)
            raise DeployError(
                f"{error.message} ({self.job.kind} stopped; the next run resumes it){left}"
            ) from None
        finally:
            self.pool.close()
            self.origin.notes.extend(self.pool.notes)
            if self.outcome:
                tell(self.job.target, self.origin, self.outcome)
        return self.report

    def _prepare(self) -> tuple[list[Operation], str, list[Leftover]]:
        """Lock the target, check it is where the plan found it, and clean up after a run
        for another version. Returns the operations still to do, the version of an
        abandoned run, and the files it published that nothing needs (removed last)."""
        control, job, origin = self.control, self.job, self.origin
        current = job.current
        for folder in ("", "objects", "versions"):
            control.makedirs(control.state_path(folder) if folder else control.state)
        control.probe_rename_over(self.deploy_id)
        if not control.rename_over and current is not None and current.files:
            origin.notes.append(
                "the server does not rename over an existing file: each "
                "replaced file is removed first, and missing for a moment"
            )
        origin.notes.extend(
            lock.take_lock(control, self.deploy_id, origin.who, self.options.break_lock)
        )
        self.locked = True
        pending = dict(current.pending_deletions) if current is not None else {}
        live, live_pending = live_pointer(control)
        if (live, live_pending) != (job.plan.from_version, pending):
            # Another deploy finished between our plan and our lock.
            raise DeployError(
                f"the target changed while this {job.kind} was planned "
                f"(it is now at {live[:12] or 'nothing'}); nothing was "
                "changed: run it again"
            )
        found = state_format(control)
        if found is not None and found < REMOTE_STATE.current:
            # This run writes the current format: its journal entries say so.
            migrated = f"remote deploy state format {found} -> {REMOTE_STATE.current}"
            self.journal["migrated"] = migrated
            origin.notes.append(
                f"{migrated}: the versions kept before stay readable (rollback works)"
            )
        protect_state(control)  # under the lock: its temporary name is not per run
        self.pool.rename_over = control.rename_over
        under_way, done = read_progress(control)
        resuming = under_way == job.plan.to_version
        self.executor.distrust = bool(under_way) and not resuming
        orphans: list[Leftover] = []
        if under_way and not resuming:
            temporaries, orphans = left_by(control, under_way, job.current, job.plan, job.manifest)
            removed = remove_leftovers(self.pool, temporaries)
            if removed:
                origin.notes.append(
                    f"removed {removed} temporary file(s) an interrupted "
                    f"deploy of {under_way[:12]} had left"
                )
        if not resuming:
            done = set()
            # Written before the first operation: a run killed before the next progress
            # write is still known as one to resume.
            start_progress(control, job.plan.to_version)
        self.executor.resuming = resuming
        control.append_journal({**self.journal, "event": "start"})
        if job.current is not None:
            write_version(control, job.current)
        write_version(control, job.manifest)
        todo = [op for op in job.plan.operations if (op.action, op.path, op.sha256) not in done]
        self.report.skipped = len(job.plan.operations) - len(todo)
        make_folders(control, [op.path for op in todo if op.action != "delete"], job.current)
        return todo, under_way, orphans

    def _publish(self, todo: list[Operation], abandoned: str, orphans: list[Leftover]) -> None:
        """Place files stage by stage, switch the live version, delete."""
        job = self.job
        for stage in STAGES[: STAGES.index("delete")]:
            for wave in sorted({op.wave for op in todo if op.stage == stage}):
                self._run(
                    [op for op in todo if op.stage == stage and op.wave == wave], self.executor
                )
        # The new manifest names the files still to delete: a deploy killed among the
        # deletions leaves them owned, and the next one deletes them.
        deletions = [op for op in job.plan.operations if op.action == "delete"]
        switch_to(
            self.pool.usable(),
            job.manifest,
            {
                op.path: {
                    "sha256": op.sha256,
                    "kind": "asset" if op.stage == "delete-asset" else "file",
                }
                for op in deletions
            },
        )
        for stage in STAGES[STAGES.index("delete") :]:
            self._run([op for op in todo if op.stage == stage], self.executor)
        if orphans:
            # Last, with the deletions: until the new pages are in place, a page the
            # abandoned run placed may still reference them.
            removed = remove_leftovers(self.pool, orphans)
            if removed:
                self.origin.notes.append(
                    f"removed {removed} file(s) an interrupted deploy "
                    f"of {abandoned[:12]} had published and no "
                    "version has"
                )
        if deletions:
            # Even when a killed run had done every deletion: the pending list must go, or
            # a file republished at one of its paths would count as there already.
            switch_to(self.pool.usable(), job.manifest)

    def _finish(self, started: float) -> None:
        """Verify, record the version and the outcome, release the lock."""
        job, report = self.job, self.report
        if self.options.verify_full:
            placed = [op for op in job.plan.operations if op.action != "delete"]
            self._run(placed, verify_content, lambda remote, op: None)
            report.verified = len(placed)
        remote = self.pool.usable()
        remember(remote, job.target, job.plan, self.deploy_id, job.kind)
        report.seconds = time.monotonic() - started
        report.bytes += self.executor.kept_bytes
        check_url = job.target.check_url
        problems = (
            [
                *http_check(check_url, job.plan, job.manifest),
                *login_check(check_url, self.executor.site_dir, job.manifest),
            ]
            if check_url
            else []
        )
        self.outcome = {
            **self.journal,
            "event": "unverified" if problems else "done",
            "uploaded": report.uploaded,
            "restored": report.restored,
            "skipped": report.skipped,
            "deleted": report.deleted,
            "sent": report.bytes,
            "retries": self.pool.retries,
            "seconds": round(report.seconds, 3),
        }
        if problems:
            self.outcome["error"] = "; ".join(problems)
        elif check_url:
            self.origin.notes.append(f"HTTP check of {check_url}: served as deployed")
        remote.append_journal(self.outcome)
        remote.remove_state(PROGRESS)
        lock.release(remote)
        self.locked = False
        if problems:
            raise DeployError(
                f"the {job.kind} is on the server but not verified: " + "; ".join(problems)
            )

    def _run(
        self,
        operations: list[Operation],
        work: Callable[[Remote, Operation, int], None],
        after: Callable[[Remote, Operation], None] | None = None,
    ) -> None:
        failure = self.pool.run(operations, work, after or self.finished)
        if failure is not None:
            op = failure.item
            raise OperationFailed(
                op,
                f"{op.path}: {op.action} failed: " + failure.message.removeprefix(f"{op.path}: "),
            )


def make_folders(remote: Remote, paths: list[str], current: Manifest | None) -> None:
    """Create the folders `paths` need, parents first, one MKD each, leaving out those that
    hold files of the live version (they exist)."""

    def parents(path: str) -> Iterator[str]:
        folder = path.rpartition("/")[0]
        while folder:
            yield folder
            folder = folder.rpartition("/")[0]

    existing = {folder for path in (current.files if current else ()) for folder in parents(path)}
    needed = {folder for path in paths for folder in parents(path)} - existing
    for folder in sorted(needed, key=lambda folder: (folder.count("/"), folder)):
        remote.make_folder(remote.path(folder))


def clean_up(
    pool: Pool, outcome: dict[str, Any], unwritten: list[list[str]], executor: Executor
) -> str:
    """After a failure: keep the progress, journal the failure, put back what was set
    aside, remove the run's temporary files and release the lock, each as far as the
    server allows. Returns what could not be done, for the error message."""
    left: list[str] = []
    if unwritten:
        _attempt(pool, lambda remote: add_progress(remote, unwritten))  # else the next run checks
    problem = _attempt(pool, lambda remote: remote.append_journal(outcome))
    if problem is not None:
        left.append(f"the target's journal could not record the failure ({problem.message})")
    for live, sha256 in sorted(executor.displaced.items()):
        # The old content was set aside and the new one never arrived: put it back, so
        # that a failed run leaves no page missing.
        if _attempt(pool, partial(_put_back, path=live, sha256=sha256)) is None:
            executor.stored.discard(sha256)
        else:
            stored = posixpath.join(pool.target.state_dir, "objects", sha256)
            left.append(
                f"{live} is missing on the server (its content is in {stored}); "
                "the next deploy puts it in place"
            )
    for temporary in sorted(executor.temporaries):
        if _attempt(pool, partial(_remove_if_there, path=temporary)) is None:
            executor.temporaries.discard(temporary)
    if executor.temporaries:
        left.append(
            "temporary files are left on the server (the next deploy removes "
            "them): " + ", ".join(sorted(executor.temporaries))
        )
    problem = _attempt(pool, lock.release)
    if problem is not None:
        left.append(
            f"the lock is left on the server ({problem.message}); the next deploy "
            "needs --break-lock, or remove "
            f"{posixpath.join(pool.target.state_dir, lock.FOLDER)}/ by hand"
        )
    return "".join(f"; {item}" for item in left)


def _attempt(pool: Pool, step: Callable[[Remote], None]) -> DeployError | None:
    """One clean-up step on a working connection; a dropped connection gets one fresh one.
    Returns the error that stopped it (None when it was done)."""
    problem: DeployError | None = None
    for _ in range(2):
        try:
            step(pool.usable())
            return None
        except RemoteError as error:
            if not error.transient:
                return error
            problem = error
        except DeployError as error:
            return error
    return problem


def _put_back(remote: Remote, *, path: str, sha256: str) -> None:
    if remote.size(path) is None:
        remote.rename(remote.state_path("objects", sha256), path)


def _remove_if_there(remote: Remote, *, path: str) -> None:
    if remote.size(path) is not None:
        remote.remove(path)


def left_by(
    control: Remote,
    version: str,
    current: Manifest | None,
    plan: DeployPlan,
    wanted: Manifest,
) -> tuple[list[Leftover], list[Leftover]]:
    """What a run for another version (killed, or failed without being able to clean up)
    may have left in the web root: the temporary files of its uploads, and the new files it
    placed that neither the live version nor `wanted` has. What this run's plan uses is
    not among them."""
    abandoned = read_version(control, version)
    if abandoned is None:
        return [], []
    theirs = [
        op
        for op in plan_deploy(plan.site, plan.target, abandoned, current).operations
        if op.action in ("upload", "copy")
    ]
    ours = {(op.path, op.sha256) for op in plan.operations}
    keep = set(current.files if current else ()) | set(wanted.files)
    temporaries = [
        Leftover(temporary_name(control.path(op.path), op.sha256), op)
        for op in theirs
        if (op.path, op.sha256) not in ours
    ]
    files = [Leftover(control.path(op.path), op) for op in theirs if op.path not in keep]
    return temporaries, files


def remove_leftovers(pool: Pool, leftovers: list[Leftover]) -> int:
    """Remove those leftovers that hold what their operation sent (size; sha256 too for
    files a visitor could be served): anything else at such a path is not ours. Returns
    how many were removed."""
    removed: list[str] = []
    removed_lock = threading.Lock()

    def remove(remote: Remote, leftover: Leftover, attempt: int) -> None:
        size = remote.size(leftover.path)
        if size is None or size != leftover.op.size:
            return
        if (
            not leftover.path.endswith(".tmp")
            and hashlib.sha256(remote.get(leftover.path)).hexdigest() != leftover.op.sha256
        ):
            return
        remote.remove(leftover.path)
        with removed_lock:
            removed.append(leftover.path)

    failure = pool.run(leftovers, remove)
    if failure is not None:
        raise DeployError(f"removing what an interrupted deploy left: {failure.message}")
    return len(removed)
