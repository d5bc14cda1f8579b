"""The deploy lock: one run at a time per target.

The lock is a folder, `lock/` in the state folder, made with MKD: MKD fails when the folder
exists on every FTP server, so of two deploys started together exactly one takes it (a file
written by one and read back by the other could be written by both). The owner's details,
`lock/owner.json`, are written just after.

A lock is taken over without `--break-lock` when its run is provably over: it expired, the
journal records that run's end (a run killed between its last entry and removing its lock),
or it was taken on this machine by a process that no longer exists.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

from generator.deploy.remote import Remote, RemoteError
from generator.errors import DeployError

LOCK_SECONDS = 3600
"""How long a lock holds without renewal; a long deploy renews it (see publish.py)."""
FOLDER = "lock"
OWNER = "lock/owner.json"
LEGACY = "lock.json"
"""The lock file of sitegen before the lock was a folder: still respected."""
ENDED = ("done", "failed", "unverified")
"""Journal events that end a run."""


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds the lock, as `owner.json` says (everything empty if the run died between
    making the folder and writing the file)."""

    owner: str = ""
    deploy: str = ""
    expires: float = 0.0
    host: str = ""
    pid: int = 0

    @classmethod
    def of(cls, value: Any) -> Holder:
        value = value if isinstance(value, dict) else {}
        return cls(
            str(value.get("owner", "")),
            str(value.get("deploy", "")),
            float(value.get("expires", 0)),
            str(value.get("host", "")),
            int(value.get("pid", 0)),
        )

    def describe(self) -> str:
        if not self.deploy:
            return "a deploy that is starting (or was killed while taking the lock)"
        until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.expires))
        return f"{self.owner} (deploy {self.deploy}, on {self.host or '?'}, until {until})"


def owner_record(who: str, deploy_id: str) -> dict[str, Any]:
    return {
        "owner": who,
        "deploy": deploy_id,
        "expires": time.time() + LOCK_SECONDS,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def take_lock(
    remote: Remote, deploy_id: str, who: str, break_lock: bool, ended_runs: set[str] | None = None
) -> list[str]:
    """Take the target's lock, or raise naming who holds it. Returns notes on locks taken
    over. `ended_runs`: deploy ids the journal records as ended (read when needed)."""
    notes: list[str] = []
    for _ in range(3):
        if remote.make_folder(remote.state_path(FOLDER)):
            legacy = remote.read_json(LEGACY)
            if legacy is not None:
                reason = stale_reason(remote, Holder.of(legacy), break_lock, ended_runs)
                if reason is None:
                    remote.remove_folder(remote.state_path(FOLDER))
                    raise _locked(Holder.of(legacy))
                remote.remove_state(LEGACY)
                notes.append(f"took over the lock of {Holder.of(legacy).describe()}: {reason}")
            try:
                _write_owner(remote, who, deploy_id)
            except DeployError:
                release(remote)  # our folder, without an owner: do not leave it
                raise
            return notes
        holder = read_holder(remote)
        reason = stale_reason(remote, holder, break_lock, ended_runs)
        if reason is None:
            raise _locked(holder)
        release(remote)
        notes.append(f"took over the lock of {holder.describe()}: {reason}")
    raise DeployError("another deploy took the lock at the same moment; try again")


def _locked(holder: Holder) -> DeployError:
    return DeployError(
        f"the target is locked by {holder.describe()}; wait for it, or pass "
        "--break-lock if that deploy is dead"
    )


def stale_reason(
    remote: Remote, holder: Holder, break_lock: bool, ended_runs: set[str] | None = None
) -> str | None:
    """Why the lock may be taken over, None if its run may still be going."""
    if break_lock:
        return "--break-lock"
    if holder.deploy and holder.expires < time.time():
        return "it had expired"
    if holder.host == socket.gethostname() and holder.pid and not _running(holder.pid):
        return f"its process ({holder.pid}) on this machine no longer exists"
    if holder.deploy:
        if ended_runs is None:
            from generator.deploy.state import read_journal

            ended_runs = {
                str(entry.get("id"))
                for entry in read_journal(remote)[0]
                if entry.get("event") in ENDED
            }
        if holder.deploy in ended_runs:
            return "the journal records that its run ended"
    return None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_owner(remote: Remote, who: str, deploy_id: str) -> None:
    # Written in place (no rename): only this run writes it, and a reader that finds it
    # half written takes it for a run that is starting.
    remote.put(
        remote.state_path(OWNER), json.dumps(owner_record(who, deploy_id), sort_keys=True).encode()
    )


def renew(remote: Remote, who: str, deploy_id: str) -> None:
    _write_owner(remote, who, deploy_id)


def read_holder(remote: Remote) -> Holder:
    path = remote.state_path(OWNER)
    if remote.size(path) is None:
        return Holder()
    try:
        return Holder.of(json.loads(remote.get(path)))
    except ValueError:
        return Holder()


def held(remote: Remote) -> Holder | None:
    """The lock's holder, None if the target is not locked."""
    legacy = remote.read_json(LEGACY)
    if legacy is not None:
        return Holder.of(legacy)
    if FOLDER not in remote.listdir(remote.state):
        return None
    return read_holder(remote)


def release(remote: Remote) -> None:
    """Remove the lock (and whatever a killed run left in its folder)."""
    folder = remote.state_path(FOLDER)
    for name in remote.listdir(folder):
        remote.remove(remote.state_path(FOLDER, name))
    try:
        remote.remove_folder(folder)
    except RemoteError:
        if FOLDER in remote.listdir(remote.state):
            raise
    remote.remove_state(LEGACY)
