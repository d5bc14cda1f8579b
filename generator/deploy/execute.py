"""Carrying out one operation of a plan on one connection, safely when repeated.

A file is placed by uploading it under a temporary name (fixed by its path and content),
checking its size on the server, setting the old content aside and renaming the temporary
file into place. What is set aside goes to the state folder's object store
(`objects/<sha256>`) by a rename on the server, so that a rollback can bring it back without
sending it again; a deletion is the same rename.

Every step checks what the server holds before acting, so an operation repeated after a
dropped connection, or by the deploy that resumes a killed one, neither sets aside new content
as old nor loses a file: a temporary file still there means the rename has not happened; a
live file with the new size is downloaded and hashed before it counts as done.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from generator.deploy.plan import Operation
from generator.deploy.remote import Remote
from generator.errors import DeployError


class Incomplete(OSError):
    """The server holds fewer or other bytes than were sent: a transient error, retried."""


TEMPORARY = re.compile(r"\.sitegen(-[0-9a-f]{12})?\.tmp$")
"""Names of the temporary files deploys upload before renaming them into place."""


def temporary_name(live: str, sha256: str) -> str:
    return f"{live}.sitegen-{sha256[:12]}.tmp"


@dataclass
class Executor:
    """Does operations of one plan; shared by the pool's workers."""

    site_dir: Path | None
    """The local build (None for a rollback: content comes from the server)."""
    keep: bool
    """Set old contents aside for rollback (else they are replaced or removed)."""
    stored: set[str]
    """Contents in the object store; updated as operations add and take them."""
    atomic_all: bool = False
    """Replace every file in one rename where the server renames over files (keeping a
    copy of its old content for rollback), not only assets and routing rules."""
    resuming: bool = False
    """A killed deploy may have done operations its progress does not name."""
    distrust: bool = False
    """A run for another version was abandoned: live files may not hold what the manifest
    says, so their content is checked before it is kept as that version's."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    kept_bytes: int = 0
    """Bytes sent to keep copies of files replaced in one rename."""
    found: set[tuple[str, str]] = field(default_factory=set)
    """Operations an earlier run had done (path, sha256): found, not repeated."""
    temporaries: set[str] = field(default_factory=set)
    """Temporary files this run uploaded and has not renamed into place yet."""
    displaced: dict[str, str] = field(default_factory=dict)
    """Live paths whose old content this run set aside (into the store, by its sha256)
    and has not yet replaced: a run that fails there puts the old content back."""

    def __call__(self, remote: Remote, op: Operation, attempt: int) -> None:
        if op.action == "delete":
            self._delete(remote, op)
        elif op.action == "restore":
            self._restore(remote, op, attempt)
        else:
            self._place(remote, op, attempt)

    def _place(self, remote: Remote, op: Operation, attempt: int) -> None:
        live = remote.path(op.path)
        temporary = temporary_name(live, op.sha256)
        if (attempt or self.resuming) and self._already_there(remote, op, live, temporary):
            with self.lock:
                self.found.add((op.path, op.sha256))
            return
        if not (attempt and remote.size(temporary) == op.size):
            data = self._content(remote, op)
            with self.lock:
                self.temporaries.add(temporary)
            remote.put(temporary, data)
            size = remote.size(temporary)
            if size != op.size:
                raise Incomplete(
                    f"the server has {size} bytes after the upload, expected {op.size}"
                )
        self._set_aside(remote, op, live)
        remote.replace(temporary, live)  # a rename keeps the size checked above
        with self.lock:
            self.temporaries.discard(temporary)
            self.displaced.pop(live, None)

    def _restore(self, remote: Remote, op: Operation, attempt: int) -> None:
        live = remote.path(op.path)
        stored = remote.state_path("objects", op.sha256)
        if (
            (attempt or self.resuming)
            and remote.size(stored) is None
            and self._already_there(remote, op, live, stored)
        ):
            with self.lock:
                self.found.add((op.path, op.sha256))
            return
        self._set_aside(remote, op, live)
        remote.replace(stored, live)
        with self.lock:
            self.stored.discard(op.sha256)
        self._check_size(remote, op, live)

    def _delete(self, remote: Remote, op: Operation) -> None:
        live = remote.path(op.path)
        size = remote.size(live)
        if size is None:
            return
        if not (
            self._as_recorded(remote, live, size, op.old_size, op.sha256)
            and self._store(remote, live, op.sha256)
        ):
            remote.remove(live)

    def _as_recorded(
        self, remote: Remote, live: str, size: int, recorded_size: int, sha256: str
    ) -> bool:
        """Whether a live file holds the content the manifest records for it (by size; by
        sha256 too after an abandoned run): only then is it kept under that content's name."""
        if recorded_size >= 0 and size != recorded_size:
            return False
        if self.distrust or recorded_size < 0:
            return hashlib.sha256(remote.get(live)).hexdigest() == sha256
        return True

    def _content(self, remote: Remote, op: Operation) -> bytes:
        """The new bytes: from the local build, or (copy) from the server."""
        if op.action == "upload":
            assert self.site_dir is not None
            data = (self.site_dir / op.path).read_bytes()
            if hashlib.sha256(data).hexdigest() != op.sha256:
                raise DeployError(f"{op.path}: the local file changed since the build; build again")
            return data
        sources = ([remote.path(op.source)] if op.source else []) + [
            remote.state_path("objects", op.sha256)
        ]
        for source in sources:
            if remote.size(source) != op.size:
                continue
            data = remote.get(source)
            if hashlib.sha256(data).hexdigest() == op.sha256:
                return data
        raise DeployError(f"{op.path}: the server no longer holds its content ({op.sha256[:12]})")

    def _already_there(self, remote: Remote, op: Operation, live: str, pending: str) -> bool:
        """Whether an earlier attempt placed the file: the temporary (or stored) copy is gone
        and the live file has the new content."""
        if remote.size(pending) is not None or remote.size(live) != op.size:
            return False
        return hashlib.sha256(remote.get(live)).hexdigest() == op.sha256

    def _set_aside(self, remote: Remote, op: Operation, live: str) -> None:
        """Move what the path holds now out of the way, into the store if it is new there.
        A file at the path that no manifest published is not ours: refuse."""
        size = remote.size(live)
        if size is None:
            return
        if not op.old_sha256:
            if self._has_content(remote, live, op):
                return
            raise DeployError(
                f"{op.path}: a file the site never published is in the way on "
                "the server; sitegen does not touch it (move it, then deploy "
                "again)"
            )
        recorded = self._as_recorded(remote, live, size, op.old_size, op.old_sha256)
        if (op.atomic or self.atomic_all) and remote.rename_over:
            if recorded:
                self._store_copy(remote, live, op.old_sha256)
            return  # the rename over it replaces it at once
        if recorded and self._store(remote, live, op.old_sha256):
            with self.lock:
                self.displaced[live] = op.old_sha256
            return
        if not remote.rename_over:
            remote.remove(live)
        # else: the rename over it replaces it at once

    def _has_content(self, remote: Remote, live: str, op: Operation) -> bool:
        return (
            remote.size(live) == op.size
            and hashlib.sha256(remote.get(live)).hexdigest() == op.sha256
        )

    def _store_copy(self, remote: Remote, live: str, sha256: str) -> None:
        """Keep a copy of a live file in the store (downloaded and uploaded again), for
        files that must never be missing: the live one is then replaced in one rename."""
        if not self.keep:
            return
        with self.lock:
            if sha256 in self.stored:
                return
            self.stored.add(sha256)
        data = remote.get(live)
        if hashlib.sha256(data).hexdigest() != sha256:
            with self.lock:
                self.stored.discard(sha256)
            return  # changed on the server by hand: nothing of ours to keep
        remote.write_bytes(remote.state_path("objects", sha256), data)
        with self.lock:
            self.kept_bytes += len(data)

    def _store(self, remote: Remote, live: str, sha256: str) -> bool:
        """Rename a live file into the object store; False if it should not or cannot."""
        if not self.keep:
            return False
        with self.lock:
            if sha256 in self.stored:
                return False
            self.stored.add(sha256)
        try:
            remote.rename(live, remote.state_path("objects", sha256))
        except Exception:
            with self.lock:
                self.stored.discard(sha256)
            if remote.size(live) is None:
                raise
            return False
        return True

    @staticmethod
    def _check_size(remote: Remote, op: Operation, live: str) -> None:
        size = remote.size(live)
        if size != op.size:
            raise Incomplete(f"the server has {size} bytes, expected {op.size}")


def verify_content(remote: Remote, op: Operation, attempt: int) -> None:
    """`--verify full`: download the placed file and compare its sha256."""
    data = remote.get(remote.path(op.path))
    if hashlib.sha256(data).hexdigest() != op.sha256:
        raise DeployError(
            f"{op.path}: the server's copy differs from the build "
            f"({len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:12]}, "
            f"expected {op.sha256[:12]})"
        )
