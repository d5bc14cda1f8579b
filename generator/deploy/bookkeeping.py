"""What deploys and rollbacks record, on the target and locally, besides the files.

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

import json
import posixpath
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.config.settings import Target
from generator.deploy import lock
from generator.deploy.notify import notify
from generator.deploy.plan import DeployPlan
from generator.deploy.remote import Remote
from generator.deploy.state import PROGRESS, read_progress, read_version
from generator.errors import DeployError

SHA256 = re.compile(r"[0-9a-f]{64}")
HISTORY = "history.json"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A version going live on a target (`history.json` lists them in that order)."""

    version: str
    time: float
    id: str
    """The deploy or rollback that did it."""
    kind: str
    """`deploy` or `rollback`."""


def read_history(remote: Remote) -> list[HistoryEntry]:
    return [
        HistoryEntry(entry["version"], entry["time"], entry.get("id", ""), entry.get("kind", ""))
        for entry in remote.read_json(HISTORY) or []
    ]


def write_history(remote: Remote, history: list[HistoryEntry]) -> None:
    remote.write_json(
        HISTORY,
        [{"version": e.version, "time": e.time, "id": e.id, "kind": e.kind} for e in history],
    )


@dataclass
class Origin:
    """Who deploys, from which commit, and where else to tell (for the journal)."""

    who: str
    commit: str
    local_journal: Path | None = None
    user: str = ""
    """The acting user's id in users.yaml ('' where the network declares no users)."""
    recorded: dict[str, Any] = field(default_factory=dict)
    """What the run's journal entries say besides the plan (the password file uploaded)."""
    """A JSONL file that gets the journal's final entry too."""
    notes: list[str] = field(default_factory=list)
    """What happened besides the plan: limits learned, checks, notifications. Filled even
    when the run fails."""
    told: bool = False
    """Whether the local journal has this run's outcome."""


class Cancelled(DeployError):
    """The user said no at the prompt: nothing was done, and nothing failed."""


@contextmanager
def recorded_failures(
    origin: Origin, site: str, target: Target, kind: str, version: str, dry_run: bool
) -> Iterator[None]:
    """A run that fails before it starts executing (cannot connect, a damaged state
    folder, a refused lock...) still gets a `failed` entry in the local journal."""
    try:
        yield
    except DeployError as error:
        if not dry_run and not origin.told and not isinstance(error, Cancelled):
            tell_local(
                origin,
                {
                    "kind": kind,
                    "time": time.time(),
                    "who": origin.who,
                    **({"user": origin.user} if origin.user else {}),
                    "commit": origin.commit,
                    "site": site,
                    "target": target.name,
                    "to": version,
                    "event": "failed",
                    "error": error.message,
                },
            )
        raise


def tell(target: Target, origin: Origin, outcome: dict[str, Any]) -> None:
    """The local journal and the notifications get the outcome of a run."""
    tell_local(origin, outcome)
    summary = {**outcome, "result": {"done": "succeeded"}.get(outcome["event"], outcome["event"])}
    for problem in notify(target, summary):
        origin.notes.append(f"notification failed: {problem}")


def tell_local(origin: Origin, outcome: dict[str, Any]) -> None:
    origin.told = True
    if origin.local_journal is not None:
        origin.local_journal.parent.mkdir(parents=True, exist_ok=True)
        with open(origin.local_journal, "a", encoding="utf-8") as stream:
            stream.write("\n" + json.dumps(outcome, sort_keys=True) + "\n")


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


def stored_objects(remote: Remote) -> set[str]:
    return {name for name in remote.listdir(remote.state_path("objects")) if SHA256.fullmatch(name)}


def remember(remote: Remote, target: Target, plan: DeployPlan, deploy_id: str, kind: str) -> None:
    """Add the version to the history; drop kept versions and stored contents past `keep`."""
    history = [*read_history(remote), HistoryEntry(plan.to_version, time.time(), deploy_id, kind)]
    write_history(remote, history)
    kept = kept_versions(history, target.keep)
    needed: set[str] = set()
    for version in kept:
        document = read_version(remote, version)
        if document is not None:
            needed.update(entry.sha256 for entry in document.files.values())
    for name in remote.listdir(remote.state_path("versions")):
        if name.split(".")[0] not in kept:
            remote.remove(remote.state_path("versions", name))
    for sha in stored_objects(remote) - needed:
        remote.remove(remote.state_path("objects", sha))


def kept_versions(history: list[HistoryEntry], keep: int) -> list[str]:
    """The current version, then up to `keep` earlier ones, newest first."""
    kept: list[str] = []
    for entry in reversed(history):
        if entry.version not in kept:
            kept.append(entry.version)
        if len(kept) > keep:
            break
    return kept[: keep + 1]


def finish_dead_run(
    control: Remote, target: Target, plan: DeployPlan, origin: Origin, break_lock: bool
) -> None:
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
                origin.notes.append(f"a deploy is under way ({holder.describe()}); left alone")
            return
    if under_way == plan.to_version:
        history = read_history(control)
        if not history or history[-1].version != plan.to_version:
            remember(control, target, plan, holder.deploy if holder else "", "deploy")
        control.append_journal(
            {
                "id": holder.deploy if holder else "",
                "kind": "deploy",
                "time": time.time(),
                "who": origin.who,
                **({"user": origin.user} if origin.user else {}),
                "site": plan.site,
                "target": target.name,
                "to": plan.to_version,
                "event": "done",
                "note": "finished the bookkeeping of a run that was killed",
            }
        )
        control.remove_state(PROGRESS)
        origin.notes.append("a killed run had published everything: recorded it")
    if holder is not None:
        lock.release(control)
        origin.notes.append(f"removed the lock of {holder.describe()}: {reason}")
